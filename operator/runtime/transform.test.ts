import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { dropUnreadFields } from './transform.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const job = (metadata: V1Job['metadata']): V1Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j', namespace: 'ns', resourceVersion: '3', ...metadata },
  spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
  status: { active: 1 },
});

describe('what an informer keeps of an object', () => {
  it.each<[string, V1Job, V1Job]>([
    [
      'drops managedFields',
      job({ managedFields: [{ manager: 'k2k-operator', operation: 'Apply', fieldsV1: { 'f:spec': {} } }] }),
      job({}),
    ],
    [
      "drops kubectl's last-applied annotation and keeps the others",
      job({ annotations: { [LAST_APPLIED]: '{"big":true}', 'k2k.dev/applied-hash': 'abc' } }),
      job({ annotations: { 'k2k.dev/applied-hash': 'abc' } }),
    ],
    ['keeps an object with neither as it is', job({ labels: { a: 'b' } }), job({ labels: { a: 'b' } })],
  ])('%s', (_name, input, expected) => {
    const before = structuredClone(input);
    expect(dropUnreadFields(input)).toEqual(expected);
    // Objects handed to handlers may be shared: the transform copies, it never mutates.
    expect(input).toEqual(before);
  });
});
