// The file:// backend: a local directory tree standing in for a bucket (tests, single-node runs,
// a PersistentVolume). It keeps S3's semantics where they differ from a filesystem's: objects
// appear atomically, a prefix is not an object, and deleting a missing object succeeds.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from './errors.ts';
import { fileURI } from './uri.ts';

/** Prefix of in-flight temp files; list() hides them so a half-written object is never seen. */
const TEMP_PREFIX = '.k2k-tmp-';

function fsError(err: unknown, uri: string): StorageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      return new StorageError('NotFound', uri, 'not found', { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StorageError('AccessDenied', uri, `access denied (${code})`, { cause: err });
    default:
      return new StorageError('Internal', uri, `${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function objectPath(p: string, uri: string): string {
  if (p.endsWith('/'))
    throw new StorageError('InvalidURI', uri, 'invalid URI: names a directory, not an object');
  return p;
}

export async function fileGet(p: string, uri: string): Promise<Buffer> {
  try {
    return await readFile(objectPath(p, uri));
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw fsError(err, uri);
  }
}

export async function filePut(
  p: string,
  uri: string,
  body: Uint8Array | string,
  ifAbsent = false,
): Promise<void> {
  const target = objectPath(p, uri);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `${TEMP_PREFIX}${path.basename(target)}.${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    // Write, fsync, rename: readers see the old object or the new one, never a torn file, even if
    // the process dies mid-write.
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (ifAbsent) {
      // link() fails with EEXIST if the target exists: an atomic create-if-absent.
      try {
        await link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new StorageError('AlreadyExists', uri, 'already exists', { cause: err });
        }
        throw err;
      }
      await unlink(tmp);
    } else {
      await rename(tmp, target);
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    if (err instanceof StorageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
      throw new StorageError(
        'Internal',
        uri,
        `cannot write: a path component is a file, or the target is a directory (${code})`,
        {
          cause: err,
        },
      );
    }
    throw fsError(err, uri);
  }
}

export async function fileExists(p: string, uri: string): Promise<boolean> {
  try {
    return (await stat(objectPath(p, uri))).isFile();
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const e = fsError(err, uri);
    if (e.code === 'NotFound') return false;
    throw e;
  }
}

export async function fileDelete(p: string, uri: string): Promise<void> {
  try {
    await unlink(objectPath(p, uri));
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const e = fsError(err, uri);
    if (e.code === 'NotFound') return; // S3 semantics: deleting a missing object succeeds
    throw e;
  }
}

/** Every file below the directory `p` (a prefix is always a directory here), as sorted file URIs. */
export async function fileList(p: string, uri: string): Promise<string[]> {
  const root = p.endsWith('/') ? p : `${p}/`;
  let entries: string[];
  try {
    entries = await readdir(root, { recursive: true });
  } catch (err) {
    const e = fsError(err, uri);
    if (e.code === 'NotFound') return [];
    throw e;
  }
  const out: string[] = [];
  for (const rel of entries) {
    if (path.basename(rel).startsWith(TEMP_PREFIX)) continue;
    const full = path.join(root, rel);
    try {
      if ((await stat(full)).isFile()) out.push(fileURI(full));
    } catch {
      // Deleted between readdir and stat: it is not there any more.
    }
  }
  return out.sort();
}
