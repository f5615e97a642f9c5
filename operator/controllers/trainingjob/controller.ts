// Wiring of the TrainingJob controller: the informers it reads and which of their events concern
// which TrainingJob. The logic is reconcileTrainingJob (reconcile.ts).
import type { V1Job, V1Pod, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { API_VERSION, TRAININGJOB_KIND, TRAININGJOB_PLURAL, type TrainingJob } from '../../../api/index.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import { Controller, type EventRecorder, type Manager, type NamespaceScope } from '../../runtime/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { ALLOW_ALL, type PodPolicy } from '../policy.ts';
import { LABEL_TRAININGJOB, type TrainerImages } from './desired.ts';
import { reconcileTrainingJob, type TrainingJobDeps } from './reconcile.ts';

export interface TrainingJobControllerOptions {
  kubeConfig: KubeConfig;
  images: TrainerImages;
  /** What spec.image and spec.serviceAccountName may be (default: anything). */
  policy?: PodPolicy;
  /** The namespaces watched (default: all). */
  scope?: NamespaceScope;
  workers?: number;
  events?: EventRecorder;
}

export function setupTrainingJobController(manager: Manager, opts: TrainingJobControllerOptions): Controller {
  const owned = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_TRAININGJOB}`;
  const trainingJobs = manager.scopedInformers<TrainingJob>(
    { apiVersion: API_VERSION, kind: TRAININGJOB_KIND, plural: TRAININGJOB_PLURAL },
    opts.scope,
  );
  const jobs = manager.scopedInformers<V1Job>(
    { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs', labelSelector: owned },
    opts.scope,
  );
  // The trainer's account and its grant are cached too: a reconcile compares them with what it
  // wants and applies only what differs, and an edit by someone else queues the owner again.
  const serviceAccounts = manager.scopedInformers<V1ServiceAccount>(
    { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', labelSelector: owned },
    opts.scope,
  );
  const roles = manager.scopedInformers<V1Role>(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', labelSelector: owned },
    opts.scope,
  );
  const roleBindings = manager.scopedInformers<V1RoleBinding>(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      plural: 'rolebindings',
      labelSelector: owned,
    },
    opts.scope,
  );
  const pods = manager.scopedInformers<V1Pod>(
    { apiVersion: 'v1', kind: 'Pod', plural: 'pods', labelSelector: LABEL_TRAININGJOB },
    opts.scope,
  );

  const deps: TrainingJobDeps = {
    kubeConfig: opts.kubeConfig,
    images: opts.images,
    policy: opts.policy ?? ALLOW_ALL,
    events: opts.events,
    metrics: manager.metrics,
    trainingJobs,
    jobs,
    serviceAccounts,
    roles,
    roleBindings,
    pods,
  };
  const owner = { apiVersion: API_VERSION, kind: TRAININGJOB_KIND };
  const controller = new Controller({
    name: 'trainingjob',
    reconcile: (key, log) => reconcileTrainingJob(deps, key, log),
    workers: opts.workers,
  })
    .watches(trainingJobs)
    .owns(jobs, owner)
    .owns(serviceAccounts, owner)
    .owns(roles, owner)
    .owns(roleBindings, owner)
    .watchesMapped(pods, (pod) => {
      const owner = pod.metadata?.labels?.[LABEL_TRAININGJOB];
      return owner && pod.metadata?.namespace ? [`${pod.metadata.namespace}/${owner}`] : [];
    });
  manager.add(controller);
  return controller;
}
