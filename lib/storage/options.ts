// Where the S3 settings come from: the standard AWS environment variables, or a Kubernetes Secret
// mounted as files (one file per variable name), so a pod spec can use either envFrom or a volume.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CREDENTIAL_KEYS, StorageEnv } from '../../api/storage.ts';
import { StorageError } from './errors.ts';

export interface StorageCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StorageOptions {
  /** S3 endpoint, e.g. http://127.0.0.1:9000. Unset: AWS S3. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key); most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** Required for s3:// URIs. There is deliberately no fallback to the AWS default chain (see openStore). */
  credentials?: StorageCredentials;
  /** Attempts per S3 request, including the first (default 3). */
  maxAttempts?: number;
  /** Time to establish a connection (default 3 s). */
  connectTimeoutMs?: number;
  /** Socket inactivity limit during a request (default 30 s; not a cap on transfer time). */
  idleTimeoutMs?: number;
}

function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new StorageError('InvalidConfig', '', `${name}="${value}" is not a boolean (true/false)`);
}

function readSecretDir(dir: string): Partial<Record<(typeof CREDENTIAL_KEYS)[number], string>> {
  const out: Partial<Record<(typeof CREDENTIAL_KEYS)[number], string>> = {};
  for (const name of CREDENTIAL_KEYS) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    try {
      // Secrets edited by hand often end with a newline; a key never contains whitespace.
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new StorageError(
        'NoCredentials',
        '',
        `cannot read ${file} (${StorageEnv.CredentialsDir}): ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return out;
}

function credentialsFrom(vars: Partial<Record<string, string>>): StorageCredentials | undefined {
  const accessKeyId = vars.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = vars.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = vars.AWS_SESSION_TOKEN?.trim();
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

/**
 * Reads AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), AWS_REGION (or AWS_DEFAULT_REGION),
 * K2K_S3_FORCE_PATH_STYLE (default: true when an endpoint is set), and credentials from
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or, when those are unset, from files
 * of the same names in K2K_S3_CREDENTIALS_DIR.
 */
export function storageOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StorageOptions {
  const opts: StorageOptions = {};
  const endpoint = env[StorageEnv.Endpoint] || env[StorageEnv.AnyEndpoint];
  if (endpoint) {
    try {
      const url = new URL(endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new StorageError('InvalidConfig', '', `S3 endpoint "${endpoint}" is not an http(s) URL`);
    }
    opts.endpoint = endpoint;
  }
  const region = env[StorageEnv.Region] || env[StorageEnv.DefaultRegion];
  if (region) opts.region = region;
  const pathStyle = env[StorageEnv.ForcePathStyle];
  if (pathStyle !== undefined && pathStyle !== '') {
    opts.forcePathStyle = parseBool(StorageEnv.ForcePathStyle, pathStyle);
  } else if (endpoint) {
    opts.forcePathStyle = true;
  }
  const dir = env[StorageEnv.CredentialsDir];
  const credentials = credentialsFrom(env) ?? (dir ? credentialsFrom(readSecretDir(dir)) : undefined);
  if (credentials) opts.credentials = credentials;
  return opts;
}
