// HDF5 through h5wasm: the HDF5 C library compiled to WebAssembly (ADR 0024), so any file h5py
// writes reads the same here. Files are opened from memory (Emscripten's in-memory file system),
// never from a temporary file on disk.
import h5wasm, { type Dataset, type Group } from 'h5wasm';

export type { Dataset, Group } from 'h5wasm';

let sequence = 0;

/** Runs f on the HDF5 file held in bytes, then closes and forgets the file. */
export async function withHdf5<T>(bytes: Uint8Array, f: (root: Group) => T): Promise<T> {
  const { FS } = await h5wasm.ready;
  const path = `/k2k-${process.pid}-${++sequence}.h5`;
  FS!.writeFile(path, bytes);
  let file: InstanceType<typeof h5wasm.File> | undefined;
  try {
    file = new h5wasm.File(path, 'r');
    return f(file);
  } finally {
    file?.close();
    FS!.unlink(path);
  }
}

export const isGroup = (e: unknown): e is Group => e instanceof h5wasm.Group;
export const isDataset = (e: unknown): e is Dataset => e instanceof h5wasm.Dataset;

/** An attribute's value as JSON (strings, numbers, arrays of them), or undefined when absent. */
export function attribute(on: Group | Dataset, name: string): unknown {
  return name in on.attrs ? on.attrs[name]!.json_value : undefined;
}

export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
