import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { conflict, ownershipOf, recheckAfter } from './ownership.ts';

const PARENT_UID = 'uid-of-y';
const ref = (over: Partial<V1OwnerReference>): V1OwnerReference => ({
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'ModelDeployment',
  name: 'y',
  uid: PARENT_UID,
  controller: true,
  blockOwnerDeletion: true,
  ...over,
});
const service = (ownerReferences?: V1OwnerReference[]): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'y', namespace: 'ml', ...(ownerReferences ? { ownerReferences } : {}) },
});
const parent: KubernetesObject = {
  apiVersion: 'k2k.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { name: 'y', namespace: 'ml', uid: PARENT_UID },
};

describe('ownershipOf', () => {
  it.each([
    { name: 'is absent when nothing has the name', existing: undefined, expected: 'absent' },
    { name: 'is ours when this parent is its controller', existing: service([ref({})]), expected: 'ours' },
    {
      name: 'is foreign when another controller owns it (a Deployment’s ReplicaSet, say)',
      existing: service([ref({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'other' })]),
      expected: 'foreign',
    },
    { name: 'is foreign when it has no owner at all', existing: service(), expected: 'foreign' },
    { name: 'is foreign when it has an empty owner list', existing: service([]), expected: 'foreign' },
    {
      name: 'is foreign when its controller has the parent’s kind and name but another UID (a deleted and re-created parent)',
      existing: service([ref({ uid: 'uid-of-an-earlier-y' })]),
      expected: 'foreign',
    },
    {
      name: 'is foreign when this parent owns it but is not its controller',
      existing: service([ref({ controller: false })]),
      expected: 'foreign',
    },
    {
      name: 'is ours when this parent is the controller among several owners',
      existing: service([ref({ kind: 'ConfigMap', name: 'c', uid: 'c', controller: false }), ref({})]),
      expected: 'ours',
    },
  ])('$name', ({ existing, expected }) => {
    expect(ownershipOf(existing, PARENT_UID)).toBe(expected);
  });
});

describe('conflict', () => {
  it('names the object, the parent and what to do', () => {
    expect(conflict(service(), parent)).toEqual({
      reason: 'Conflict',
      message: expect.stringMatching(
        /^Service y already exists and is not managed by this ModelDeployment; .*delete or rename that Service/,
      ),
    });
  });

  it('names the object’s controller when it has one', () => {
    const existing = service([ref({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'o' })]);
    expect(conflict(existing, parent).message).toContain('(its controller is Deployment web)');
  });
});

describe('recheckAfter', () => {
  it.each([
    { name: 'looks again later at a Conflict, which no event will end', reason: 'Conflict', requeue: true },
    { name: 'waits for a spec change after a policy refusal', reason: 'ImageNotAllowed', requeue: false },
    { name: 'has nothing to look at without a refusal', reason: undefined, requeue: false },
  ])('$name', ({ reason, requeue }) => {
    const result = recheckAfter(reason ? { reason, message: '' } : undefined);
    expect(result?.requeueAfterMs !== undefined).toBe(requeue);
  });
});
