import type { V1Role } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { APPLIED_HASH_ANNOTATION, desiredHash, upToDate, withAppliedHash } from './uptodate.ts';

const desired: V1Role = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'x-trainer', namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'k2k' } },
  rules: [
    {
      apiGroups: ['k2k.dev'],
      resources: ['trainingjobs/status'],
      resourceNames: ['x'],
      verbs: ['get', 'patch'],
    },
  ],
};

/** The Role as the API server stores it after k2k applied `applied`: defaults and metadata added. */
const stored = (applied: V1Role = desired): V1Role => {
  const withHash = withAppliedHash(applied);
  return {
    ...withHash,
    metadata: {
      ...withHash.metadata,
      uid: 'u1',
      resourceVersion: '7',
      creationTimestamp: new Date('2026-12-01T00:00:00Z'),
    },
  };
};

const edit = (role: V1Role, change: (r: V1Role) => void): V1Role => {
  const copy = structuredClone(role);
  change(copy);
  return copy;
};

describe('whether a child needs applying', () => {
  it.each<[string, V1Role | undefined, boolean]>([
    ['applies a child that does not exist yet', undefined, false],
    ['skips a child that holds exactly what k2k applied', stored(), true],
    [
      'applies again a child whose rules someone changed',
      edit(stored(), (r) => {
        r.rules![0]!.verbs = ['*'];
      }),
      false,
    ],
    [
      'applies again a child whose rules someone added to',
      edit(stored(), (r) => {
        r.rules!.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
      }),
      false,
    ],
    [
      'applies again a child whose label k2k sets someone changed',
      edit(stored(), (r) => {
        r.metadata!.labels!['app.kubernetes.io/managed-by'] = 'someone';
      }),
      false,
    ],
    [
      'skips a child to which someone else added a label',
      edit(stored(), (r) => {
        r.metadata!.labels!.team = 'ml';
      }),
      true,
    ],
    [
      'skips a child with a field k2k does not own',
      edit(stored(), (r) => {
        r.metadata!.annotations!.note = 'kept';
        r.metadata!.finalizers = ['example.com/keep'];
      }),
      true,
    ],
    [
      'applies a child whose hash annotation someone removed',
      edit(stored(), (r) => {
        delete r.metadata!.annotations![APPLIED_HASH_ANNOTATION];
      }),
      false,
    ],
    [
      'applies a child last applied from another desired state (a field k2k no longer sets is removed)',
      stored({
        ...desired,
        metadata: { ...desired.metadata, labels: { ...desired.metadata!.labels, old: 'y' } },
      }),
      false,
    ],
  ])('%s', (_name, live, expected) => {
    expect(upToDate(desired, live)).toBe(expected);
  });

  it('hashes the same desired state the same whatever its key order', () => {
    const reordered: V1Role = {
      rules: desired.rules,
      metadata: desired.metadata,
      kind: 'Role',
      apiVersion: desired.apiVersion,
    };
    expect(desiredHash(reordered)).toBe(desiredHash(desired));
  });

  it('compares with what the hash was taken of when the applied object copies from the live one', () => {
    const template = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 't', image: 'i' }] } };
    const fresh = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template } };
    const live = withAppliedHash(
      { ...fresh, spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } },
      fresh,
    );
    const copied = { ...fresh, spec: { template: live.spec.template } };
    expect(upToDate(copied, live, fresh)).toBe(true);
    expect(upToDate(copied, live)).toBe(false);
  });

  it('treats a number and the same number sent back as a string as equal (int-or-string fields)', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    };
    const live = withAppliedHash(
      { ...svc, spec: { ports: [{ port: 80, targetPort: '8080', protocol: 'TCP' }] } },
      svc,
    );
    expect(upToDate(svc, live)).toBe(true);
  });
});
