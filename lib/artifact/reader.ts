// Reads an artifact version and trusts nothing the manifest does not vouch for: every listed
// file is fetched and checked against its size and sha256 before anything is returned.
import {
  type DataProfile,
  FILES,
  type Manifest,
  type MetricsFile,
  type Preprocessing,
} from '../../api/artifact.ts';
import { isStorageError, type ObjectStore, parseURI } from '../storage/index.ts';
import { ArtifactError } from './errors.ts';
import { checkArtifactPath, fileURIOf, normalizeArtifactURI } from './paths.ts';
import { parseJSONFile, validateFile } from './validate.ts';
import { sha256Hex, weightPaths } from './writer.ts';

export interface LoadedArtifact {
  /** The version's URI, with a trailing slash. */
  uri: string;
  manifest: Manifest;
  /** Every file the manifest lists, verified, by path. */
  files: Map<string, Buffer>;
  preprocessing: Preprocessing;
  profile?: DataProfile;
  metrics?: MetricsFile;
  /** sha256 of manifest.json's bytes: identifies this exact artifact (e.g. in the server's metrics). */
  manifestSha256: string;
}

/** Parallel downloads: enough to hide latency, few enough not to swamp a small server. */
const FETCH_CONCURRENCY = 4;

async function fetchManifest(store: ObjectStore, uri: string): Promise<{ manifest: Manifest; sha: string }> {
  let bytes: Buffer;
  try {
    bytes = await store.get(fileURIOf(uri, FILES.manifest));
  } catch (err) {
    if (isStorageError(err, 'NotFound')) {
      throw new ArtifactError(
        'Incomplete',
        uri,
        'no manifest.json: the artifact is incomplete (still being written, or its writer failed) or does not exist',
        { file: FILES.manifest, cause: err },
      );
    }
    throw err; // Unreachable, AccessDenied, ...: the caller's retry policy decides
  }
  const raw = parseJSONFile(uri, FILES.manifest, bytes);
  const fv = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof fv === 'number' && fv > 1) {
    throw new ArtifactError('Invalid', uri, `formatVersion ${fv} is newer than this reader understands (1)`, {
      file: FILES.manifest,
    });
  }
  const manifest = validateFile<Manifest>(uri, FILES.manifest, raw);
  const seen = new Set<string>();
  for (const f of manifest.files) {
    checkArtifactPath(uri, f.path, { forWrite: false });
    if (seen.has(f.path))
      throw new ArtifactError('Invalid', uri, `lists ${f.path} twice`, { file: FILES.manifest });
    seen.add(f.path);
  }
  return { manifest, sha: sha256Hex(bytes) };
}

async function fetchVerified(store: ObjectStore, uri: string, f: Manifest['files'][number]): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await store.get(fileURIOf(uri, f.path));
  } catch (err) {
    if (isStorageError(err, 'NotFound')) {
      throw new ArtifactError('Tampered', uri, 'is listed in manifest.json but missing', {
        file: f.path,
        cause: err,
      });
    }
    throw err;
  }
  if (bytes.byteLength !== f.size) {
    throw new ArtifactError(
      'Tampered',
      uri,
      `size ${bytes.byteLength} does not match manifest.json (${f.size})`,
      {
        file: f.path,
      },
    );
  }
  const sha = sha256Hex(bytes);
  if (sha !== f.sha256) {
    throw new ArtifactError('Tampered', uri, `sha256 ${sha} does not match manifest.json (${f.sha256})`, {
      file: f.path,
    });
  }
  return bytes;
}

/**
 * Fetches and verifies a complete artifact. Incomplete without manifest.json; Tampered naming the
 * file whose bytes do not match; Invalid naming the file that breaks the format. Storage errors
 * (Unreachable, AccessDenied, ...) pass through as StorageError.
 */
export async function readArtifact(store: ObjectStore, uri: string): Promise<LoadedArtifact> {
  const base = normalizeArtifactURI(uri);
  const { manifest, sha } = await fetchManifest(store, base);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const required of [FILES.model, FILES.preprocessing]) {
    if (!listed.has(required)) {
      throw new ArtifactError('Invalid', base, `manifest.json does not list ${required}`, {
        file: FILES.manifest,
      });
    }
  }

  const files = new Map<string, Buffer>();
  const queue = [...manifest.files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) files.set(f.path, await fetchVerified(store, base, f));
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, worker));

  const json = (file: string) => parseJSONFile(base, file, files.get(file)!);
  const modelJSON = json(FILES.model);
  if (typeof modelJSON !== 'object' || modelJSON === null || !('modelTopology' in modelJSON)) {
    throw new ArtifactError('Invalid', base, 'has no modelTopology (not a TensorFlow.js model.json)', {
      file: FILES.model,
    });
  }
  for (const w of weightPaths(modelJSON)) {
    if (!listed.has(w))
      throw new ArtifactError('Invalid', base, `references ${w}, which manifest.json does not list`, {
        file: FILES.model,
      });
  }
  const loaded: LoadedArtifact = {
    uri: base,
    manifest,
    files: new Map([...manifest.files.map((f) => [f.path, files.get(f.path)!] as const)]),
    preprocessing: validateFile<Preprocessing>(base, FILES.preprocessing, json(FILES.preprocessing)),
    manifestSha256: sha,
  };
  if (listed.has(FILES.profile))
    loaded.profile = validateFile<DataProfile>(base, FILES.profile, json(FILES.profile));
  if (listed.has(FILES.metrics))
    loaded.metrics = validateFile<MetricsFile>(base, FILES.metrics, json(FILES.metrics));
  return loaded;
}

/**
 * The highest version under <out>/<model>/ that has a manifest.json (complete or not verified
 * here: readArtifact verifies). Versions without a manifest — running or failed writes — are ignored.
 */
export async function latestVersion(store: ObjectStore, modelUri: string): Promise<string | undefined> {
  const prefix = locator(modelUri, true);
  let best: bigint | undefined;
  for (const uri of await store.list(modelUri)) {
    const loc = locator(uri, false);
    if (!loc.startsWith(prefix)) continue;
    const m = /^([1-9][0-9]{0,18})\/manifest\.json$/.exec(loc.slice(prefix.length));
    if (!m) continue;
    const v = BigInt(m[1]!);
    if (best === undefined || v > best) best = v;
  }
  return best?.toString();
}

/** A scheme-independent, decoded location (bucket/key or path) for prefix comparisons. */
function locator(uri: string, asDir: boolean): string {
  const p = parseURI(uri);
  const loc = p.scheme === 's3' ? `s3:${p.bucket}/${p.key}` : `file:${p.path}`;
  return asDir && !loc.endsWith('/') ? `${loc}/` : loc;
}
