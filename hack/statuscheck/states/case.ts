// What a state of a k2k resource is: its object, as the operator's status functions computed it from
// what a reconcile pass would observe, and what Argo CD's health check and kstatus must make of it.
// The builders every kind's states share.
import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { API_VERSION, type Condition } from '../../../api/index.ts';
import type { PodPolicy } from '../../../operator/controllers/policy.ts';

/** Argo CD's health status codes that k2k's scripts return. */
export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
/** kstatus results a k2k resource can have (Terminating is kstatus's own, from deletionTimestamp). */
export type KStatus = 'Current' | 'InProgress' | 'Failed';

export interface HealthCase {
  /** The testdata file's name, without .yaml. */
  name: string;
  object: KubernetesObject & { status?: { conditions?: Condition[] } };
  health: { status: ArgoHealth; message: string };
  kstatus: KStatus;
}

export const NOW = new Date('2026-11-25T10:00:00Z');
export const CREATED = '2026-11-25T09:55:00Z';
export const STARTED = '2026-11-25T09:56:00Z';
export const RETRIED = '2026-11-25T09:58:00Z';
export const NODE = 'k2k-node';
/** What the scripts say before the operator wrote any status. */
export const NOT_OBSERVED = 'Waiting for the k2k operator to report status';
export const RESTRICTED: PodPolicy = {
  allowedImages: ['registry.example.com/ml/'],
  allowedServiceAccounts: ['ml-trainer'],
};

export function sample(file: string): { metadata: { name: string }; spec: object } {
  const text = readFileSync(new URL(`../../../config/samples/${file}`, import.meta.url), 'utf8');
  return yaml.load(text) as { metadata: { name: string }; spec: object };
}

/** The sample in config/samples/`file` with `spec` changed, as the API server stores it (defaults filled in). */
export function fromSample<T>(kind: string, file: string, schema: TSchema, spec: object): T {
  const { metadata: meta, spec: base } = sample(file);
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: metadata(meta.name, 1),
    spec: Value.Default(schema, { ...base, ...spec }),
  } as T;
}

export function metadata(name: string, generation: number) {
  return { name, namespace: 'ml', uid: `${name}-uid`, generation, creationTimestamp: new Date(CREATED) };
}

/** The condition of `type` in the object's status, as the scripts show it: "reason: message". */
export function said(object: HealthCase['object'], type: string): string {
  const c = object.status?.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`${object.kind} ${object.metadata?.name} has no ${type} condition`);
  return `${c.reason}: ${c.message}`;
}

/** The object with its spec changed since the status was written (metadata.generation bumped). */
export function newerSpec<T extends HealthCase['object']>(object: T): T {
  const generation = (object.metadata?.generation ?? 1) + 1;
  return { ...object, metadata: { ...object.metadata, generation } };
}

export const lagMessage = (object: HealthCase['object']) =>
  `Waiting for the operator to observe generation ${object.metadata?.generation}`;

/** Dates as the API server writes metav1.Time: RFC 3339 in whole seconds. */
const apiTime = (_key: string, value: unknown) =>
  typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(value)
    ? value.replace('.000Z', 'Z')
    : value;

/** The case, its object cut loose from the builders (plain JSON, as read back from the API). */
export function state(
  name: string,
  object: HealthCase['object'],
  health: ArgoHealth,
  message: string | ((o: HealthCase['object']) => string),
  kstatus: KStatus,
): HealthCase {
  const plain = JSON.parse(JSON.stringify(object, apiTime)) as HealthCase['object'];
  return {
    name,
    object: plain,
    health: { status: health, message: typeof message === 'string' ? message : message(plain) },
    kstatus,
  };
}

export const because = (type: string) => (o: HealthCase['object']) => said(o, type);

/** On its way to Ready: Argo CD Progressing with the Ready reason, kstatus InProgress. */
export const progressing = (name: string, object: HealthCase['object']) =>
  state(name, object, 'Progressing', because('Ready'), 'InProgress');

/** Cannot get there without someone acting: Argo CD Degraded with the reason of `type`, kstatus Failed. */
export const degraded = (
  name: string,
  object: HealthCase['object'],
  type: 'Stalled' | 'Failed' = 'Stalled',
) => state(name, object, 'Degraded', because(type), 'Failed');

/** The pod status the scheduler writes when no node fits. */
export const unschedulable = (message: string) => ({
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
});
