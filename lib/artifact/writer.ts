// Writes one artifact version so that it is complete or invisible: every file is uploaded first,
// and manifest.json — the only thing readers trust — last, listing each file's size and sha256.
import { createHash } from 'node:crypto';
import {
  ARTIFACT_API_VERSION,
  ARTIFACT_KIND,
  FILES,
  FORMAT_VERSION,
  type Manifest,
  type ManifestFile,
} from '../../api/artifact.ts';
import { isStorageError, type ObjectStore } from '../storage/index.ts';
import { ArtifactError } from './errors.ts';
import { checkArtifactPath, fileURIOf, normalizeArtifactURI } from './paths.ts';
import { parseJSONFile, validateFile } from './validate.ts';

export type ManifestMeta = Omit<Manifest, 'files' | 'apiVersion' | 'kind' | 'formatVersion' | 'createdAt'> & {
  createdAt?: string;
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json' };

function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[path.slice(dot)]) || 'application/octet-stream';
}

export class ArtifactWriter {
  readonly uri: string;
  readonly #store: ObjectStore;
  readonly #files = new Map<string, ManifestFile>();
  /** Parsed JSON of the files commit() cross-checks (model.json's weight paths, preprocessing). */
  readonly #json = new Map<string, unknown>();
  #writable: Promise<void> | undefined;
  #committed = false;

  constructor(store: ObjectStore, uri: string) {
    this.#store = store;
    this.uri = normalizeArtifactURI(uri);
  }

  /** AlreadyExists if this version has a manifest: a complete version is immutable. */
  async assertWritable(): Promise<void> {
    if (await this.#store.exists(fileURIOf(this.uri, FILES.manifest))) {
      throw new ArtifactError(
        'AlreadyExists',
        this.uri,
        'a complete artifact (with manifest.json) already exists here and is immutable; write a new version',
        { file: FILES.manifest },
      );
    }
  }

  /** Checked once before the first upload, so a writer can never damage a complete version. */
  #ensureWritable(): Promise<void> {
    this.#writable ??= this.assertWritable().catch((err) => {
      // Forget a failure (say, storage unreachable) so that a retried add() checks again.
      this.#writable = undefined;
      throw err;
    });
    return this.#writable;
  }

  /** Uploads the file now and records its size and sha256 for the manifest. Re-adding a path replaces it. */
  async add(path: string, body: Uint8Array | string): Promise<void> {
    if (this.#committed)
      throw new ArtifactError('Invalid', this.uri, 'already committed; no more files can be added', {
        file: path,
      });
    checkArtifactPath(this.uri, path, { forWrite: true });
    await this.#ensureWritable();
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (path.endsWith('.json')) {
      this.#json.set(path, parseJSONFile(this.uri, path, bytes));
      // Catch a malformed preprocessing/profile/metrics file before it is uploaded, not at read time.
      validateFile(this.uri, path, this.#json.get(path));
    }
    await this.#store.put(fileURIOf(this.uri, path), bytes, { contentType: contentType(path) });
    this.#files.set(path, { path, size: bytes.byteLength, sha256: sha256Hex(bytes) });
  }

  async addJSON(path: string, value: unknown): Promise<void> {
    await this.add(path, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Paths added so far (sorted). */
  get files(): string[] {
    return [...this.#files.keys()].sort();
  }

  /**
   * Writes manifest.json, which makes the artifact complete. Refuses (Invalid) when model.json,
   * the weight files it references, or preprocessing.json are missing, or the manifest is invalid.
   */
  async commit(meta: ManifestMeta): Promise<Manifest> {
    if (this.#committed)
      throw new ArtifactError('Invalid', this.uri, 'already committed', { file: FILES.manifest });
    for (const required of [FILES.model, FILES.preprocessing]) {
      if (!this.#files.has(required)) {
        throw new ArtifactError('Invalid', this.uri, 'is required but was not added', { file: required });
      }
    }
    for (const weights of weightPaths(this.#json.get(FILES.model))) {
      if (!this.#files.has(weights)) {
        throw new ArtifactError(
          'Invalid',
          this.uri,
          `is referenced by model.json's weightsManifest but was not added`,
          {
            file: weights,
          },
        );
      }
    }
    const { createdAt, ...rest } = meta;
    const manifest: Manifest = {
      apiVersion: ARTIFACT_API_VERSION,
      kind: ARTIFACT_KIND,
      formatVersion: FORMAT_VERSION,
      ...rest,
      createdAt: createdAt ?? new Date().toISOString(),
      files: this.files.map((p) => this.#files.get(p)!),
    };
    validateFile(this.uri, FILES.manifest, manifest);
    // Again right before the manifest: another writer may have completed this version meanwhile.
    await this.assertWritable();
    try {
      // ifAbsent makes the check atomic: of two writers racing past assertWritable, one wins.
      await this.#store.put(fileURIOf(this.uri, FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`, {
        contentType: 'application/json',
        ifAbsent: true,
      });
    } catch (err) {
      if (isStorageError(err, 'AlreadyExists')) {
        throw new ArtifactError('AlreadyExists', this.uri, 'another writer completed this version first', {
          file: FILES.manifest,
          cause: err,
        });
      }
      throw err;
    }
    this.#committed = true;
    return manifest;
  }
}

/** The weight file paths a tf.io model.json references (relative to model.json, i.e. the artifact root). */
export function weightPaths(modelJSON: unknown): string[] {
  const groups = (modelJSON as { weightsManifest?: { paths?: unknown }[] } | undefined)?.weightsManifest;
  if (!Array.isArray(groups)) return [];
  return groups.flatMap((g) =>
    Array.isArray(g?.paths) ? g.paths.filter((p): p is string => typeof p === 'string') : [],
  );
}
