// Pure builders of the objects a TrainingJob owns: the trainer Job, and the ServiceAccount, Role
// and RoleBinding that let its trainer report progress on (only) its own TrainingJob's status.
import type {
  V1Job,
  V1OwnerReference,
  V1PodFailurePolicy,
  V1PodTemplateSpec,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import {
  TERMINATION_LOG,
  TRAININGJOB_PLURAL,
  type TrainerConfig,
  TrainerEnv,
  TrainerExitCode,
  type TrainingJob,
} from '../../../api/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../labels.ts';
import { controllerReference } from '../ownership.ts';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  tolerationsFor,
} from '../pod.ts';
import { storageAccess } from '../storage.ts';

export { GPU_RESOURCE } from '../pod.ts';

export const LABEL_TRAININGJOB = 'k2k.dev/trainingjob';
export const TRAINER_CONTAINER = 'trainer';

export interface TrainerImages {
  cpu: string;
  gpu: string;
}

export const ownerReference = (tj: TrainingJob): V1OwnerReference => controllerReference(tj);

function childMetadata(tj: TrainingJob, name: string) {
  return {
    name,
    namespace: tj.metadata.namespace!,
    labels: {
      [LABEL_MANAGED_BY]: MANAGED_BY,
      'app.kubernetes.io/name': 'k2k-trainer',
      'app.kubernetes.io/instance': tj.metadata.name!,
      [LABEL_TRAININGJOB]: tj.metadata.name!,
    },
    ownerReferences: [ownerReference(tj)],
  };
}

/** The artifact version: spec.output.version, else the creation time in Unix seconds (stable across restarts). */
export function artifactVersion(tj: TrainingJob): string {
  if (tj.spec.output.version) return tj.spec.output.version;
  const created = tj.metadata.creationTimestamp ? new Date(tj.metadata.creationTimestamp) : undefined;
  if (!created || Number.isNaN(created.getTime())) throw new Error('TrainingJob has no creationTimestamp');
  return String(Math.floor(created.getTime() / 1000));
}

export function modelName(tj: TrainingJob): string {
  return tj.spec.model.name ?? tj.metadata.name!;
}

export const jobName = (tj: TrainingJob) => tj.metadata.name!;
export const trainerAccountName = (tj: TrainingJob) => `${tj.metadata.name}-trainer`;

/** What the trainer reads from K2K_TRAINER_CONFIG. */
export function trainerConfig(tj: TrainingJob): TrainerConfig {
  const { model, dataset, hyperparameters, output, backend, resumeFrom } = tj.spec;
  return {
    model: { ...model, name: modelName(tj) },
    dataset,
    hyperparameters,
    output: { ...output, version: artifactVersion(tj) },
    backend,
    ...(resumeFrom ? { resumeFrom } : {}),
    trainingJob: { namespace: tj.metadata.namespace!, name: tj.metadata.name!, uid: tj.metadata.uid! },
  };
}

function podTemplate(tj: TrainingJob, images: TrainerImages): V1PodTemplateSpec {
  const { spec } = tj;
  const gpus = spec.resources.gpus ?? 0;
  const storage = storageAccess(spec.storage);
  const env = [
    { name: TrainerEnv.Config, value: JSON.stringify(trainerConfig(tj)) },
    { name: TrainerEnv.TerminationLog, value: TERMINATION_LOG },
    { name: 'NODE_OPTIONS', value: '--max-old-space-size=4096' },
    ...storage.env,
  ];
  const tolerations = tolerationsFor(spec.tolerations, gpus);

  return {
    metadata: { labels: childMetadata(tj, '').labels },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: spec.serviceAccountName ?? trainerAccountName(tj),
      automountServiceAccountToken: true,
      securityContext: restrictedPodSecurityContext(),
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(tolerations.length > 0 ? { tolerations } : {}),
      containers: [
        {
          name: TRAINER_CONTAINER,
          image: spec.image ?? (gpus > 0 ? images.gpu : images.cpu),
          imagePullPolicy: 'IfNotPresent',
          env,
          resources: resourceRequirements(spec.resources),
          securityContext: restrictedContainerSecurityContext(),
          terminationMessagePath: TERMINATION_LOG,
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...storage.volumeMounts],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }, ...storage.volumes],
    },
  };
}

/**
 * Which trainer exits fail the Job at once, and which are not failures at all. A trainer stopped
 * from outside is replaced without spending backoffLimit (ADR 0025): the API server or a
 * controller marks the pods it evicts, preempts or takes from a lost node with DisruptionTarget;
 * a plain DELETE marks nothing, so the trainer's own exit code for SIGTERM says it.
 */
export function trainerPodFailurePolicy(): V1PodFailurePolicy {
  const exitCode = (code: number) => ({ containerName: TRAINER_CONTAINER, operator: 'In', values: [code] });
  return {
    rules: [
      // Invalid input (bad spec, unreadable data, NaN loss): retrying cannot help.
      { action: 'FailJob', onExitCodes: exitCode(TrainerExitCode.InvalidInput) },
      // Deleted (kubectl delete pod, a drain that deletes), or evicted and stopped by SIGTERM.
      { action: 'Ignore', onExitCodes: exitCode(TrainerExitCode.Stopped) },
      // Evictions, preemptions, node-pressure kills and node loss, whatever the exit code.
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
}

/**
 * The trainer Job. When the Job already exists its pod template and pod failure policy are kept
 * as they are (both are immutable), so that an operator upgrade that changes defaults such as
 * the image or the policy does not turn into apply errors on running TrainingJobs.
 */
export function desiredJob(tj: TrainingJob, images: TrainerImages, existing?: V1Job): V1Job {
  const { spec } = tj;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: childMetadata(tj, jobName(tj)),
    spec: {
      backoffLimit: spec.backoffLimit,
      ...(spec.activeDeadlineSeconds !== undefined
        ? { activeDeadlineSeconds: spec.activeDeadlineSeconds }
        : {}),
      ...(spec.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished }
        : {}),
      // A stopped TrainingJob's Job stays suspended for good: the Job controller deletes its pod.
      suspend: spec.suspend || spec.stop !== undefined,
      completions: 1,
      parallelism: 1,
      podFailurePolicy: existing?.spec?.podFailurePolicy ?? trainerPodFailurePolicy(),
      // A replacement starts only once the stopped pod has terminated: two trainers never write
      // the same checkpoints at once. (The only value a Job with a podFailurePolicy accepts, and
      // its default; said here so it does not rest on a default.)
      podReplacementPolicy: 'Failed',
      template: existing?.spec?.template ?? podTemplate(tj, images),
    },
  };
}

export function desiredServiceAccount(tj: TrainingJob): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: childMetadata(tj, trainerAccountName(tj)),
    automountServiceAccountToken: false,
  };
}

/** Least privilege: the trainer may patch the status of its own TrainingJob and nothing else. */
export function desiredRole(tj: TrainingJob): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: childMetadata(tj, trainerAccountName(tj)),
    rules: [
      {
        apiGroups: ['k2k.dev'],
        resources: [`${TRAININGJOB_PLURAL}/status`],
        resourceNames: [tj.metadata.name!],
        verbs: ['get', 'patch'],
      },
    ],
  };
}

export function desiredRoleBinding(tj: TrainingJob): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: childMetadata(tj, trainerAccountName(tj)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: trainerAccountName(tj) },
    subjects: [
      {
        kind: 'ServiceAccount',
        name: tj.spec.serviceAccountName ?? trainerAccountName(tj),
        namespace: tj.metadata.namespace!,
      },
    ],
  };
}

/** Every child, in the order they are applied (the Job last, so its pod finds its account). */
export function desiredChildren(tj: TrainingJob, images: TrainerImages, existingJob?: V1Job) {
  return [
    ...(tj.spec.serviceAccountName ? [] : [desiredServiceAccount(tj)]),
    desiredRole(tj),
    desiredRoleBinding(tj),
    desiredJob(tj, images, existingJob),
  ];
}
