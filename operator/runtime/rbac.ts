// RBAC declared beside the code that needs it. Each module that talks to the API server states the
// verbs its requests use, with the reason; config/rbac is generated from these declarations
// (operator/rbac.ts, run by `npm run generate`), so the operator's roles grant what its code
// uses and nothing more, and a reader of role.yaml sees which code needs each verb.
import yaml from 'js-yaml';

/** The verbs k2k's code uses; their order is the order in the generated rules. */
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch'] as const;
export type Verb = (typeof VERBS)[number];

/** One grant and the code path that needs it. */
export interface Permission {
  /** API group; '' is the core group. */
  group: string;
  /** Plural resource names, with `/subresource` where one is meant. */
  resources: string[];
  verbs: Verb[];
  /** Which code needs it and why: a comment above the rule in the generated YAML. */
  why: string;
}

/** Informers list, then watch from the list's resourceVersion: nothing else. */
export function readsThroughInformers(group: string, resources: string[], who: string): Permission {
  return {
    group,
    resources,
    verbs: ['list', 'watch'],
    why: `${who} reads them through informers (list, watch)`,
  };
}

/**
 * Server-side apply is a PATCH; when the object does not exist yet the API server creates it and
 * authorizes that as `create` too (k8s.io/apiserver, endpoints/handlers/patch.go).
 */
export function appliesServerSide(group: string, resources: string[], who: string): Permission {
  return {
    group,
    resources,
    verbs: ['create', 'patch'],
    why: `${who} writes them with server-side apply (patch; create when missing)`,
  };
}

/**
 * A child no informer caches is created; when its name is taken, the controller reads what is
 * there (createOrRead in runtime/apply.ts) to see whose it is: k2k never takes over an object it
 * did not create.
 */
export function getsWhenNameIsTaken(group: string, resources: string[], who: string): Permission {
  return {
    group,
    resources,
    verbs: ['get'],
    why: `${who} reads one whose name is taken when creating it, to leave alone those it did not create (get)`,
  };
}

/** Status is written with server-side apply on /status, which only ever patches an existing object. */
export function appliesStatus(group: string, plurals: string[], who: string): Permission {
  return {
    group,
    resources: plurals.map((p) => `${p}/status`),
    verbs: ['patch'],
    why: `${who} applies their status (patch)`,
  };
}

/**
 * Children carry ownerReferences with blockOwnerDeletion: true; where the
 * OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift, for one), setting that
 * needs update on the owner's finalizers.
 */
export function blocksOwnerDeletion(group: string, plurals: string[], who: string): Permission {
  return {
    group,
    resources: plurals.map((p) => `${p}/finalizers`),
    verbs: ['update'],
    why: `${who} sets blockOwnerDeletion on their children (update on finalizers, for OwnerReferencesPermissionEnforcement)`,
  };
}

/** What the runtime itself needs in every namespace a controller works in. */
export const RUNTIME_PERMISSIONS: Permission[] = [
  {
    group: 'events.k8s.io',
    resources: ['events'],
    verbs: ['create'],
    why: 'EventRecorder (runtime/events.ts) creates events.k8s.io/v1 Events and never updates one (create)',
  },
];

/** What leader election (runtime/leader.ts) needs, only in the namespace of its Lease. */
export const LEADER_ELECTION_PERMISSIONS: Permission[] = [
  {
    group: 'coordination.k8s.io',
    resources: ['leases'],
    verbs: ['get', 'create', 'update'],
    why: 'LeaderElector (runtime/leader.ts) reads the Lease (get), creates it when missing (create), renews and releases it with the resourceVersion it read (update)',
  },
];

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: Verb[];
}

/**
 * Merges permissions into rules: one rule per group and set of verbs, resources in the order they
 * were first declared, each rule with the reasons of the permissions it came from.
 */
export function mergePermissions(perms: readonly Permission[]): Array<PolicyRule & { why: string[] }> {
  const byResource = new Map<string, { group: string; resource: string; verbs: Set<Verb>; why: string[] }>();
  for (const p of perms) {
    for (const resource of p.resources) {
      const id = `${p.group}\0${resource}`;
      let entry = byResource.get(id);
      if (!entry) {
        entry = { group: p.group, resource, verbs: new Set(), why: [] };
        byResource.set(id, entry);
      }
      for (const v of p.verbs) entry.verbs.add(v);
      if (!entry.why.includes(p.why)) entry.why.push(p.why);
    }
  }
  const rules = new Map<string, PolicyRule & { why: string[] }>();
  for (const e of byResource.values()) {
    const verbs = VERBS.filter((v) => e.verbs.has(v));
    const id = `${e.group}\0${verbs.join(',')}`;
    let rule = rules.get(id);
    if (!rule) {
      rule = { apiGroups: [e.group], resources: [], verbs, why: [] };
      rules.set(id, rule);
    }
    rule.resources.push(e.resource);
    for (const w of e.why) if (!rule.why.includes(w)) rule.why.push(w);
  }
  return [...rules.values()];
}

/** Whether `rules` allow `verb` on `group`/`resource` (no wildcards: k2k's roles never use them). */
export function allows(rules: readonly PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.includes(group) && r.resources.includes(resource) && (r.verbs as string[]).includes(verb),
  );
}

export interface RoleMeta {
  kind: 'ClusterRole' | 'Role';
  name: string;
  /** Only for a Role. */
  namespace?: string;
  labels?: Record<string, string>;
}

/** The YAML of a ClusterRole or Role granting `perms`, each rule under a comment saying why. */
export function roleYAML(meta: RoleMeta, perms: readonly Permission[]): string {
  const head = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: meta.kind,
    metadata: {
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(meta.labels ? { labels: meta.labels } : {}),
    },
  };
  const rules = mergePermissions(perms).map(({ why, ...rule }) => {
    const comments = why.map((w) => `  # ${w}\n`).join('');
    const body = yaml.dump([rule], { flowLevel: 2, lineWidth: -1 });
    return `${comments}${body.trimEnd().replace(/^/gm, '  ')}\n`;
  });
  return `${yaml.dump(head)}rules:\n${rules.join('')}`;
}
