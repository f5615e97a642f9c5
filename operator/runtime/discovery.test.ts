import { describe, expect, it } from 'vitest';
import { availabilityOf } from './discovery.ts';

const KINDS = ['ServiceMonitor', 'PrometheusRule'];
const resource = (kind: string, name: string) => ({ kind, name });

describe('availabilityOf', () => {
  it.each([
    {
      name: 'says served when every kind is listed',
      resources: [
        resource('ServiceMonitor', 'servicemonitors'),
        resource('PrometheusRule', 'prometheusrules'),
      ],
      want: 'served',
    },
    {
      name: 'says missing when the group/version is not served at all',
      resources: undefined,
      want: 'missing',
    },
    {
      name: 'says missing when only some of the kinds are there (one CRD installed)',
      resources: [resource('ServiceMonitor', 'servicemonitors')],
      want: 'missing',
    },
    {
      name: 'does not count a subresource as its kind',
      resources: [
        resource('ServiceMonitor', 'servicemonitors'),
        resource('PrometheusRule', 'prometheusrules/status'),
      ],
      want: 'missing',
    },
  ])('$name', ({ resources, want }) => {
    expect(availabilityOf(resources, KINDS).state).toBe(want);
  });
});
