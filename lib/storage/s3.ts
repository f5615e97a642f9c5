// The s3:// backend over @aws-sdk/client-s3, tuned for S3-compatible servers and for failing
// fast: a wrong endpoint should surface as one clear error within seconds, not minutes of retries.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { StorageError } from './errors.ts';
import type { StorageOptions } from './options.ts';

// On Node 20 the SDK warns once per process that its releases after January 2027 will need
// Node 22. k2k pins the SDK (package.json) and supports Node 20 (engines), so the warning is about
// versions k2k does not take; every program that talks to S3 (trainer, model server, hack scripts,
// tests) gets here first, so this is the one place to turn it off, with the SDK's own switch.
// An explicit value in the environment wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEFAULT_REGION = 'us-east-1';
/** A handful of attempts absorbs a restarting server; more only delays the real error. */
const MAX_ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 3_000;
/** Socket inactivity limit (not a cap on transfer time, so large weights still upload). */
const IDLE_TIMEOUT_MS = 30_000;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
]);
const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const DENIED_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'AllAccessDisabled',
  // VersityGW answers an unknown access key with 404 XAdminUserNotFound instead of S3's 403
  // InvalidAccessKeyId. (A HEAD has no body, so exists() cannot tell that case from "missing".)
  'XAdminUserNotFound',
]);

export const NO_CREDENTIALS_MESSAGE =
  'no S3 credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or mount a Secret at K2K_S3_CREDENTIALS_DIR';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  errors?: SdkError[];
  $metadata?: { httpStatusCode?: number };
}

function networkCode(err: SdkError): string | undefined {
  if (err.code && NETWORK_CODES.has(err.code)) return err.code;
  // Node's happy-eyeballs connect reports an AggregateError whose members carry the codes.
  for (const inner of err.errors ?? []) {
    if (inner.code && NETWORK_CODES.has(inner.code)) return inner.code;
  }
  if (err.name === 'TimeoutError') return 'timeout';
  return undefined;
}

export class S3Backend {
  readonly #opts: StorageOptions;
  #client: S3Client | undefined;

  constructor(opts: StorageOptions) {
    this.#opts = opts;
  }

  /** What an "unreachable" message names: the configured endpoint or AWS's regional one. */
  get endpoint(): string {
    return this.#opts.endpoint ?? `https://s3.${this.#opts.region ?? DEFAULT_REGION}.amazonaws.com`;
  }

  #clientFor(uri: string): S3Client {
    if (this.#client) return this.#client;
    // No credentials means an error, not the SDK's default chain: that chain would probe the
    // instance metadata service and ~/.aws, which is slow off-cloud and hides misconfiguration.
    if (!this.#opts.credentials) throw new StorageError('NoCredentials', uri, NO_CREDENTIALS_MESSAGE);
    this.#client = new S3Client({
      region: this.#opts.region ?? DEFAULT_REGION,
      credentials: this.#opts.credentials,
      forcePathStyle: this.#opts.forcePathStyle ?? this.#opts.endpoint !== undefined,
      maxAttempts: this.#opts.maxAttempts ?? MAX_ATTEMPTS,
      // socketTimeout is the inactivity limit; smithy's requestTimeout only logs a warning unless
      // told to throw, and a total cap would break large uploads on slow links.
      requestHandler: {
        connectionTimeout: this.#opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        socketTimeout: this.#opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      },
      // Newer SDKs add CRC checksums to every request by default; several S3-compatible servers
      // reject or ignore them. Send them only where the S3 API requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(this.#opts.endpoint ? { endpoint: this.#opts.endpoint } : {}),
    });
    return this.#client;
  }

  #error(err: unknown, uri: string, bucket: string): StorageError {
    if (err instanceof StorageError) return err;
    const e = (err ?? {}) as SdkError;
    const net = networkCode(e);
    if (net)
      return new StorageError('Unreachable', uri, `cannot reach ${this.endpoint} (${net})`, { cause: err });
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    if (name === 'NoSuchBucket')
      return new StorageError('NotFound', uri, `bucket ${bucket} does not exist`, { cause: err });
    if (DENIED_NAMES.has(name) || status === 403 || status === 401) {
      return new StorageError('AccessDenied', uri, `access denied (${name || status}) at ${this.endpoint}`, {
        cause: err,
      });
    }
    if (NOT_FOUND_NAMES.has(name) || status === 404)
      return new StorageError('NotFound', uri, 'not found', { cause: err });
    const detail =
      `${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`.split('\n')[0]!;
    // Server-side failures and throttling pass; a malformed request does not.
    const transient = (status !== undefined && status >= 500) || status === 429 || name === 'SlowDown';
    return new StorageError('Internal', uri, detail, { cause: err, transient });
  }

  async get(uri: string, bucket: string, key: string): Promise<Buffer> {
    try {
      const res = await this.#clientFor(uri).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!res.Body) return Buffer.alloc(0);
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw this.#error(err, uri, bucket);
    }
  }

  async put(
    uri: string,
    bucket: string,
    key: string,
    body: Uint8Array | string,
    opts: { contentType?: string; ifAbsent?: boolean },
  ): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      await this.#clientFor(uri).send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: opts.contentType ?? 'application/octet-stream',
          // S3 conditional write: the server refuses (412) if the key exists, atomically.
          ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (err) {
      const status = (err as SdkError).$metadata?.httpStatusCode;
      if (opts.ifAbsent && (status === 412 || (err as SdkError).name === 'PreconditionFailed')) {
        throw new StorageError('AlreadyExists', uri, 'already exists', { cause: err });
      }
      throw this.#error(err, uri, bucket);
    }
  }

  async exists(uri: string, bucket: string, key: string): Promise<boolean> {
    try {
      await this.#clientFor(uri).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      const e = this.#error(err, uri, bucket);
      // A missing bucket is a configuration error worth reporting, not "no such object".
      if (e.code === 'NotFound' && (err as SdkError).name !== 'NoSuchBucket') return false;
      throw e;
    }
  }

  async delete(uri: string, bucket: string, key: string): Promise<void> {
    try {
      await this.#clientFor(uri).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      const e = this.#error(err, uri, bucket);
      if (e.code === 'NotFound' && (err as SdkError).name !== 'NoSuchBucket') return;
      throw e;
    }
  }

  /** Every key under `prefix` (a "directory": "" or ending in "/"), as sorted s3:// URIs. */
  async list(uri: string, bucket: string, prefix: string): Promise<string[]> {
    const client = this.#clientFor(uri);
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const obj of res.Contents ?? []) {
          // Keys ending in "/" are folder markers made by consoles, not objects.
          if (obj.Key && !obj.Key.endsWith('/')) out.push(`s3://${bucket}/${obj.Key}`);
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.#error(err, uri, bucket);
    }
    return out.sort();
  }

  destroy(): void {
    this.#client?.destroy();
    this.#client = undefined;
  }
}
