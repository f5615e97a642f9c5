// The few bytes of the ZIP format a .keras file needs: Keras writes it with Python's zipfile
// (stored entries; deflate is read too), and no ZIP package is a dependency of the trainer.
import { inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipError extends Error {
  override readonly name = 'ZipError';
}

/** The entries of a ZIP archive by name, uncompressed. ZIP64 (entries over 4 GiB) is refused. */
export function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = findEndOfCentralDirectory(zip);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new ZipError(`corrupt central directory at byte ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (compressed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) {
      throw new ZipError(`${name}: ZIP64 entries (over 4 GiB) are not supported`);
    }
    if (zip.readUInt32LE(local) !== LOCAL) throw new ZipError(`${name}: corrupt local header`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + compressed);
    if (method === 0) entries.set(name, data);
    else if (method === 8) entries.set(name, inflateRawSync(data));
    else throw new ZipError(`${name}: compression method ${method} is not supported (stored or deflate)`);
    if (entries.get(name)!.length !== size) throw new ZipError(`${name}: truncated`);
  }
  return entries;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65535.
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65535); at--) {
    if (zip.readUInt32LE(at) === EOCD) return at;
  }
  throw new ZipError('not a ZIP archive (no end of central directory record)');
}
