// A batch of suspended TrainingJobs for the fault tests: made at a given concurrency, counted while
// the operator converges them, and checked for nothing lost and nothing made twice.
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { expect } from 'vitest';
import type { TrainingJob } from '../../api/index.ts';
import { suspendedTrainingJob } from './suspended-trainingjob.ts';

const group = { group: 'k2k.dev', version: 'v1alpha1', plural: 'trainingjobs' };
const LABEL_TRAININGJOB = 'k2k.dev/trainingjob';

/** Runs `work` on every item with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export class TrainingJobBatch {
  readonly names: string[];
  /** How many creations the API server answered so far. */
  created = 0;
  private readonly custom: CustomObjectsApi;

  constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
    total: number,
    prefix = 'tj',
  ) {
    this.names = Array.from({ length: total }, (_, i) => `${prefix}-${i}`);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  get total(): number {
    return this.names.length;
  }

  /** Creates `names` (default: the batch), `concurrency` at a time, each worker pausing `paceMs` after each. */
  create(concurrency = 16, names = this.names, paceMs = 0): Promise<void> {
    return pool(names, concurrency, async (name) => {
      await this.custom.createNamespacedCustomObject({
        ...group,
        namespace: this.namespace,
        body: suspendedTrainingJob(name),
      });
      this.created++;
      if (paceMs) await new Promise((r) => setTimeout(r, paceMs));
    });
  }

  async trainingJobs(): Promise<TrainingJob[]> {
    const list = await this.custom.listNamespacedCustomObject({ ...group, namespace: this.namespace });
    return (list as { items: TrainingJob[] }).items;
  }

  /** How many TrainingJobs report their Job: the operator converged them. */
  async converged(): Promise<number> {
    return (await this.trainingJobs()).filter((tj) => tj.status?.jobName).length;
  }

  /**
   * Every TrainingJob of the namespace (the batch and `extra`) reports its own Job, and has exactly
   * one Job, ServiceAccount, Role and RoleBinding, each controlled by it: nothing lost, nothing twice.
   */
  async expectEachConvergedOnce(extra: string[] = []): Promise<void> {
    const names = new Set([...this.names, ...extra]);
    const tjs = await this.trainingJobs();
    expect(new Set(tjs.map((tj) => tj.metadata.name))).toEqual(names);
    for (const tj of tjs) expect(tj.status?.jobName).toBe(tj.metadata.name);
    const namespace = this.namespace;
    const labelSelector = LABEL_TRAININGJOB;
    const batch = this.kc.makeApiClient(BatchV1Api);
    const core = this.kc.makeApiClient(CoreV1Api);
    const rbac = this.kc.makeApiClient(RbacAuthorizationV1Api);
    const children: Record<string, KubernetesObject[]> = {
      Job: (await batch.listNamespacedJob({ namespace, labelSelector })).items,
      ServiceAccount: (await core.listNamespacedServiceAccount({ namespace, labelSelector })).items,
      Role: (await rbac.listNamespacedRole({ namespace, labelSelector })).items,
      RoleBinding: (await rbac.listNamespacedRoleBinding({ namespace, labelSelector })).items,
    };
    for (const [kind, items] of Object.entries(children)) {
      const owners = items.map((o) => o.metadata?.ownerReferences?.find((r) => r.controller)?.name);
      expect(owners.length, `${kind}s`).toBe(names.size);
      expect(new Set(owners), `owners of the ${kind}s`).toEqual(names);
    }
  }
}
