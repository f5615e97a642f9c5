// How a pod the operator creates reaches object storage: the settings of spec.storage as the
// environment lib/storage reads, and the credentials Secret mounted by reference. Shared by the
// trainer Job (TrainingJob) and the model server Deployment (ModelDeployment).
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { type Storage, TrainerEnv } from '../../api/index.ts';

/** Where a storage credentials Secret is mounted; lib/storage reads the AWS_* files from it. */
export const CREDENTIALS_DIR = '/var/run/secrets/k2k.dev/storage';
export const CREDENTIALS_VOLUME = 'storage-credentials';
/** The variable that points lib/storage at CREDENTIALS_DIR. */
export const CREDENTIALS_DIR_ENV = 'K2K_S3_CREDENTIALS_DIR';

export interface StorageAccess {
  env: V1EnvVar[];
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

/** The env, volumes and mounts that give a container access to `storage` (nothing when unset). */
export function storageAccess(storage: Storage | undefined): StorageAccess {
  const access: StorageAccess = { env: [], volumes: [], volumeMounts: [] };
  if (!storage) return access;
  if (storage.endpoint) access.env.push({ name: TrainerEnv.S3Endpoint, value: storage.endpoint });
  access.env.push({ name: TrainerEnv.S3Region, value: storage.region });
  access.env.push({ name: TrainerEnv.S3ForcePathStyle, value: String(storage.forcePathStyle) });
  if (storage.credentialsSecretRef) {
    // Credentials stay in the Secret: mounted as files, never copied into the pod spec.
    access.volumes.push({
      name: CREDENTIALS_VOLUME,
      secret: { secretName: storage.credentialsSecretRef.name },
    });
    access.volumeMounts.push({ name: CREDENTIALS_VOLUME, mountPath: CREDENTIALS_DIR, readOnly: true });
    access.env.push({ name: CREDENTIALS_DIR_ENV, value: CREDENTIALS_DIR });
  }
  return access;
}
