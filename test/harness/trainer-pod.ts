// Playing the kubelet for a trainer pod: with no kubelet in the test control plane, Jobs get pods
// that never run, so tests write the trainer container's state into the pod status themselves.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';
import type { TrainingProgress } from '../../api/index.ts';
import { eventually } from './eventually.ts';
import { testKubeConfig } from './kube.ts';

const core = testKubeConfig().makeApiClient(CoreV1Api);
const custom = testKubeConfig().makeApiClient(CustomObjectsApi);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The live (not deleted) trainer pod of TrainingJob `name`, once the Job controller made it. */
export async function trainerPod(namespace: string, name: string): Promise<V1Pod> {
  return eventually(
    async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `k2k.dev/trainingjob=${name}` });
      return pods.items.find((p) => !p.metadata?.deletionTimestamp);
    },
    { what: `the trainer pod of ${name}` },
  );
}

/**
 * Plays the kubelet: writes the trainer container's state into the pod's status, with `conditions`
 * besides PodScheduled (a DisruptionTarget, as the Eviction API or the kubelet would add).
 */
export async function setPodStatus(
  pod: V1Pod,
  phase: 'Running' | 'Succeeded' | 'Failed',
  exitCode?: number,
  message?: string,
  conditions: V1PodCondition[] = [],
) {
  const now = new Date().toISOString();
  const state =
    phase === 'Running'
      ? { running: { startedAt: now } }
      : {
          terminated: {
            exitCode: exitCode ?? 0,
            reason: phase === 'Succeeded' ? 'Completed' : 'Error',
            message,
            startedAt: now,
            finishedAt: now,
          },
        };
  const status = {
    phase,
    startTime: now,
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }, ...conditions],
    containerStatuses: [
      {
        name: 'trainer',
        image: 'k2k/trainer:test',
        imageID: '',
        ready: phase === 'Running',
        restartCount: 0,
        started: phase === 'Running',
        state,
      },
    ],
  };
  await core.patchNamespacedPodStatus(
    { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, body: { status } },
    mergePatch,
  );
}

/** Plays the trainer reporting progress: status.progress under its own field manager, as trainer/progress.ts writes it. */
export async function reportProgress(namespace: string, name: string, progress: TrainingProgress) {
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: 'k2k.dev',
      version: 'v1alpha1',
      plural: 'trainingjobs',
      namespace,
      name,
      body: { apiVersion: 'k2k.dev/v1alpha1', kind: 'TrainingJob', metadata: { name }, status: { progress } },
      fieldManager: 'k2k-trainer',
      force: true,
    },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
}

/** Progress after `values.length` epochs whose `metric` took these values, as the trainer reports it. */
export function epochProgress(metric: string, values: number[], epochs = values.length): TrainingProgress {
  const history = values.map((v, i) => ({ epoch: i + 1, metrics: { [metric]: v } }));
  return { epoch: values.length, epochs, metrics: history.at(-1)?.metrics ?? {}, history };
}
