import { describe, expect, it } from 'vitest';
import { scopedRefs } from './scope.ts';

const pods = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', labelSelector: 'app=x' };

describe('scopedRefs', () => {
  it.each([
    { name: 'watches every namespace by default', scope: undefined, expected: [pods] },
    {
      name: 'watches each listed namespace with its own ref',
      scope: { namespaces: ['a', 'b'], excludedNamespaces: ['kube-system'] },
      expected: [
        { ...pods, namespace: 'a' },
        { ...pods, namespace: 'b' },
      ],
    },
    {
      name: 'leaves excluded namespaces out of a cluster-wide watch with a field selector',
      scope: { excludedNamespaces: ['kube-system', 'kube-public'] },
      expected: [
        { ...pods, fieldSelector: 'metadata.namespace!=kube-system,metadata.namespace!=kube-public' },
      ],
    },
    {
      name: 'keeps a field selector the ref already has',
      ref: { ...pods, fieldSelector: 'status.phase=Running' },
      scope: { excludedNamespaces: ['kube-system'] },
      expected: [{ ...pods, fieldSelector: 'status.phase=Running,metadata.namespace!=kube-system' }],
    },
  ])('$name', ({ ref, scope, expected }) => {
    expect(scopedRefs(ref ?? pods, scope)).toEqual(expected);
  });
});
