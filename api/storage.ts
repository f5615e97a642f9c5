// Object storage, shared by the trainer and the model server: the spec.storage block of a
// TrainingJob, HyperparameterSweep or ModelDeployment, and the environment through which a pod the
// operator creates receives it (written by operator/controllers/storage.ts, read by
// lib/storage/options.ts). Credentials never pass through the environment: the Secret is mounted
// as files named like CREDENTIAL_KEYS and StorageEnv.CredentialsDir points at them.
import Type, { type Static } from 'typebox';
import { ObjectName } from './schema.ts';

export const Storage = Type.Object(
  {
    endpoint: Type.Optional(
      Type.String({
        description:
          'S3 endpoint URL, for an S3-compatible server (for example http://seaweedfs.storage:8333). Empty means AWS S3.',
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
      }),
    ),
    region: Type.String({ description: 'S3 region.', default: 'us-east-1', maxLength: 64, minLength: 1 }),
    forcePathStyle: Type.Boolean({
      description:
        'Address buckets as path segments (http://host/bucket/key), as most S3-compatible servers need.',
      default: true,
    }),
    credentialsSecretRef: Type.Optional(
      Type.Object(
        { name: ObjectName('Name of a Secret in the same namespace.') },
        {
          description:
            'Secret with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and optionally AWS_SESSION_TOKEN). Credentials are only ever passed by reference; omit it to use the pod identity (for example IRSA).',
        },
      ),
    ),
  },
  { description: 'How to reach object storage for s3:// URIs. Ignored for file:// URIs.' },
);
export type Storage = Static<typeof Storage>;

/** Environment variables of object storage: the AWS SDK's names where it has one. */
export const StorageEnv = {
  /** spec.storage.endpoint. */
  Endpoint: 'AWS_ENDPOINT_URL_S3',
  /** spec.storage.region. */
  Region: 'AWS_REGION',
  /** spec.storage.forcePathStyle ("true" or "false"). */
  ForcePathStyle: 'K2K_S3_FORCE_PATH_STYLE',
  /** The directory where spec.storage.credentialsSecretRef is mounted. */
  CredentialsDir: 'K2K_S3_CREDENTIALS_DIR',
  /** Read as fallbacks for runs outside k2k, never written by the operator. */
  AnyEndpoint: 'AWS_ENDPOINT_URL',
  DefaultRegion: 'AWS_DEFAULT_REGION',
} as const;

/** The keys of the credentials Secret, read as files from StorageEnv.CredentialsDir (or as variables). */
export const CREDENTIAL_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/** Where the operator mounts the credentials Secret in the pods it creates. */
export const CREDENTIALS_DIR = '/var/run/secrets/k2k.dev/storage';
