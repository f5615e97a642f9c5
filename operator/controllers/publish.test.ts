import { describe, expect, it } from 'vitest';
import type { Condition } from '../../api/common.ts';
import { eventType } from './publish.ts';

const ready = (reason: string): Condition =>
  ({ type: 'Ready', status: 'False', reason, message: reason, lastTransitionTime: '' }) as Condition;
const warnings = new Set(['Unschedulable']);

describe('eventType', () => {
  it.each([
    {
      name: 'records nothing for the first status when it is routine',
      before: undefined,
      now: 'Suspended',
      expected: undefined,
    },
    {
      name: 'records a Warning for the first status when it needs attention',
      before: undefined,
      now: 'Unschedulable',
      expected: 'Warning',
    },
    {
      name: 'records a Normal event when the reason changes',
      before: 'Suspended',
      now: 'Pending',
      expected: 'Normal',
    },
    {
      name: 'records a Warning when the reason changes to one that needs attention',
      before: 'Pending',
      now: 'Unschedulable',
      expected: 'Warning',
    },
    {
      name: 'records nothing when the reason stays the same',
      before: 'Unschedulable',
      now: 'Unschedulable',
      expected: undefined,
    },
  ])('$name', ({ before, now, expected }) => {
    expect(eventType(before ? ready(before) : undefined, ready(now), warnings)).toBe(expected);
  });
});
