// Object storage shared by the trainer and the model server: one small interface over s3:// and
// file:// URIs, with errors coded so callers can tell "missing" from "misconfigured" from "retry".
import { StorageError } from './errors.ts';
import { fileDelete, fileExists, fileGet, fileList, filePut } from './file.ts';
import type { StorageOptions } from './options.ts';
import { S3Backend } from './s3.ts';
import { parseURI } from './uri.ts';

export { isStorageError, StorageError, type StorageErrorCode, StorageErrorCodes } from './errors.ts';
export { type StorageCredentials, type StorageOptions, storageOptionsFromEnv } from './options.ts';
export { fileURI, joinURI, type ParsedURI, parseURI } from './uri.ts';

export interface PutOptions {
  contentType?: string;
  ifAbsent?: boolean;
}

export interface ObjectStore {
  /** The object's bytes. NotFound if it does not exist. */
  get(uri: string): Promise<Buffer>;
  /** Creates or replaces the object; readers never see a partial object. With `ifAbsent`, only
   *  creates it: AlreadyExists if it exists (atomic, so of two concurrent writers one wins). */
  put(uri: string, body: Uint8Array | string, opts?: PutOptions): Promise<void>;
  /** Full URIs of every object under the prefix (recursive), sorted. The prefix is a directory:
   *  `s3://b/models/a` lists `s3://b/models/a/...`, never `s3://b/models/ab/...`. */
  list(prefixUri: string): Promise<string[]>;
  /** Whether the object exists. (An S3 HEAD has no error body, so a missing bucket also reads as false.) */
  exists(uri: string): Promise<boolean>;
  /** Removes the object; deleting a missing object succeeds (as in S3). */
  delete(uri: string): Promise<void>;
}

function objectKey(uri: string, key: string): string {
  if (key === '' || key.endsWith('/')) {
    throw new StorageError('InvalidURI', uri, 'invalid URI: names a bucket or prefix, not an object');
  }
  return key;
}

function prefixKey(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

/**
 * A store that dispatches on each URI's scheme. The S3 client is created on first s3:// use, so a
 * store for file:// URIs needs no credentials. Credentials must be given explicitly (see
 * storageOptionsFromEnv): without them an s3:// call fails with NoCredentials.
 */
export function openStore(opts: StorageOptions = {}): ObjectStore {
  const s3 = new S3Backend(opts);
  return {
    async get(uri) {
      const p = parseURI(uri);
      return p.scheme === 's3' ? s3.get(uri, p.bucket, objectKey(uri, p.key)) : fileGet(p.path, uri);
    },
    async put(uri, body, putOpts) {
      const p = parseURI(uri);
      return p.scheme === 's3'
        ? s3.put(uri, p.bucket, objectKey(uri, p.key), body, putOpts ?? {})
        : filePut(p.path, uri, body, putOpts?.ifAbsent ?? false);
    },
    async list(prefixUri) {
      const p = parseURI(prefixUri);
      return p.scheme === 's3' ? s3.list(prefixUri, p.bucket, prefixKey(p.key)) : fileList(p.path, prefixUri);
    },
    async exists(uri) {
      const p = parseURI(uri);
      return p.scheme === 's3' ? s3.exists(uri, p.bucket, objectKey(uri, p.key)) : fileExists(p.path, uri);
    },
    async delete(uri) {
      const p = parseURI(uri);
      return p.scheme === 's3' ? s3.delete(uri, p.bucket, objectKey(uri, p.key)) : fileDelete(p.path, uri);
    },
  };
}
