// Object URIs: s3://bucket/key and file:///absolute/path. S3 keys are taken literally (as the AWS
// CLI does); file URIs follow URL rules (percent-encoding), so a path with spaces round-trips
// through list() and joinURI().
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROTECTED_PATHS } from '../../api/schema.ts';
import { StorageError } from './errors.ts';

export type ParsedURI = { scheme: 's3'; bucket: string; key: string } | { scheme: 'file'; path: string };

// The same bucket rule as api/'s ObjectURI pattern (S3's naming rules, simplified).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function invalid(uri: string, why: string): never {
  throw new StorageError('InvalidURI', uri, `invalid URI: ${why}`);
}

export function parseURI(uri: string): ParsedURI {
  if (typeof uri !== 'string' || uri === '')
    invalid(String(uri), 'empty; expected s3://bucket/key or file:///path');
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket)) invalid(uri, `bucket "${bucket}" is not a valid S3 bucket name`);
    if (key.startsWith('/')) invalid(uri, 'key starts with "/" (double slash after the bucket)');
    return { scheme: 's3', bucket, key };
  }
  if (uri.startsWith('file:')) {
    if (!uri.startsWith('file:///')) invalid(uri, 'file URIs must be absolute: file:///path');
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      invalid(uri, 'not a URL');
    }
    if (url.search || url.hash)
      invalid(uri, 'file URIs take no query or fragment ("?" and "#" must be percent-encoded)');
    let p: string;
    try {
      p = fileURLToPath(url);
    } catch (err) {
      invalid(uri, (err as Error).message);
    }
    const under = protectedDirectory(p);
    if (under) invalid(uri, `names a path under ${under}, where the pod's credentials and system files are`);
    return { scheme: 'file', path: p };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
  invalid(
    uri,
    scheme
      ? `unsupported scheme "${scheme}"; expected s3:// or file://`
      : 'expected s3://bucket/key or file:///path',
  );
}

/**
 * The protected directory (api's PROTECTED_PATHS, which the CRDs refuse too) that a path lies
 * in, after "..", "." and repeated slashes are resolved; percent-encoding is already decoded.
 */
export function protectedDirectory(p: string): string | undefined {
  const normalized = path.posix.normalize(p);
  return PROTECTED_PATHS.find((dir) => normalized === dir || normalized.startsWith(`${dir}/`));
}

/** A file URI for an absolute path (percent-encoded as URL rules require). */
export function fileURI(p: string): string {
  return pathToFileURL(p).href;
}

/**
 * Joins path segments onto a base URI with single slashes. A trailing slash on the last part is
 * kept (so `joinURI(out, model, version + '/')` names a directory). "." and ".." segments are
 * refused: a model name must never walk out of the output prefix.
 */
export function joinURI(base: string, ...parts: string[]): string {
  const parsed = parseURI(base);
  const segments: string[] = [];
  for (const part of parts) {
    for (const seg of part.split('/')) {
      if (seg === '') continue;
      if (seg === '.' || seg === '..') invalid(base, `path segment "${seg}" in "${part}" is not allowed`);
      segments.push(seg);
    }
  }
  const trailing = parts.length > 0 && parts[parts.length - 1]!.endsWith('/');
  if (segments.length === 0) return base;
  // Strip trailing slashes but keep the scheme's own ("file:///" + "a" is "file:///a").
  const head = parsed.scheme === 'file' && parsed.path === '/' ? 'file://' : base.replace(/\/+$/, '');
  const tail = parsed.scheme === 'file' ? segments.map(encodeFileSegment).join('/') : segments.join('/');
  return `${head}/${tail}${trailing ? '/' : ''}`;
}

function encodeFileSegment(seg: string): string {
  // pathToFileURL's encoding for one segment: what a file URI for this name would contain.
  const href = pathToFileURL(path.posix.join('/', seg)).href;
  return href.slice('file:///'.length);
}
