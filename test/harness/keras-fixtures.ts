// The Keras model fixtures, made with real Keras by hack/keras-fixtures.sh (cached outside the
// repository by the hash of test/fixtures/keras/make.py and the pinned versions; a cold machine
// builds the Python environment and the files first, which takes minutes: see ADR 0024).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What make.py wrote for one model: fixed inputs and Keras 3's and Keras 2's outputs. */
export interface KerasPredictions {
  input: { shape: number[]; dtype: string; data: number[] };
  output: { shape: number[]; keras3: number[]; keras2: number[] };
}

export interface KerasFixtures {
  dir: string;
  /** The models with predictions: the built-in architectures and the custom ones. */
  models: string[];
  /** The models k2k must refuse. */
  unsupported: string[];
  file(name: string): Buffer;
  predictions(model: string): KerasPredictions;
}

let made: Promise<KerasFixtures> | undefined;

export function kerasFixtures(): Promise<KerasFixtures> {
  made ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [path.join(REPO, 'hack/keras-fixtures.sh')], {
      maxBuffer: 1 << 20,
    });
    const dir = stdout.trim().split('\n').pop()!;
    const file = (name: string) => readFileSync(path.join(dir, name));
    const manifest = JSON.parse(file('manifest.json').toString('utf8')) as {
      models: Record<string, unknown>;
      unsupported: string[];
    };
    return {
      dir,
      models: Object.keys(manifest.models),
      unsupported: manifest.unsupported,
      file,
      predictions: (model) => JSON.parse(file(`${model}.predictions.json`).toString('utf8')),
    };
  })();
  return made;
}
