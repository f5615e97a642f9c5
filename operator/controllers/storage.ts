// How a pod the operator creates reaches object storage: the settings of spec.storage as the
// environment lib/storage reads, and the credentials Secret mounted by reference. Shared by the
// trainer Job (TrainingJob) and the model server Deployment (ModelDeployment).
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { CREDENTIALS_DIR, type Storage, StorageEnv } from '../../api/index.ts';

export const CREDENTIALS_VOLUME = 'storage-credentials';

export interface StorageAccess {
  env: V1EnvVar[];
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

/** The env, volumes and mounts that give a container access to `storage` (nothing when unset). */
export function storageAccess(storage: Storage | undefined): StorageAccess {
  const access: StorageAccess = { env: [], volumes: [], volumeMounts: [] };
  if (!storage) return access;
  if (storage.endpoint) access.env.push({ name: StorageEnv.Endpoint, value: storage.endpoint });
  access.env.push({ name: StorageEnv.Region, value: storage.region });
  access.env.push({ name: StorageEnv.ForcePathStyle, value: String(storage.forcePathStyle) });
  if (storage.credentialsSecretRef) {
    // Credentials stay in the Secret: mounted as files, never copied into the pod spec.
    access.volumes.push({
      name: CREDENTIALS_VOLUME,
      secret: { secretName: storage.credentialsSecretRef.name },
    });
    access.volumeMounts.push({ name: CREDENTIALS_VOLUME, mountPath: CREDENTIALS_DIR, readOnly: true });
    access.env.push({ name: StorageEnv.CredentialsDir, value: CREDENTIALS_DIR });
  }
  return access;
}
