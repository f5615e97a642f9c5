import { CHECKPOINTS_DIR, FILES } from '../../api/artifact.ts';
import { joinURI, parseURI } from '../storage/index.ts';
import { ArtifactError } from './errors.ts';

const VERSION = /^[1-9][0-9]{0,18}$/;

/** The URI of one artifact version: <out>/<model>/<version>/ (always with the trailing slash). */
export function artifactURI(outputUri: string, model: string, version: string): string {
  if (!VERSION.test(version)) {
    throw new ArtifactError('Invalid', outputUri, `version "${version}" is not a positive decimal integer`);
  }
  if (model === '' || model.includes('/')) {
    throw new ArtifactError('Invalid', outputUri, `model name "${model}" must be one non-empty path segment`);
  }
  return joinURI(outputUri, model, `${version}/`);
}

/** The artifact URI with exactly one trailing slash, so file URIs are `${base}${path}`. */
export function normalizeArtifactURI(uri: string): string {
  parseURI(uri); // throws StorageError InvalidURI for a bad one
  return uri.endsWith('/') ? uri : `${uri}/`;
}

export function fileURIOf(base: string, path: string): string {
  return joinURI(base, path);
}

/** Refuses paths that would escape the artifact or shadow its manifest. */
export function checkArtifactPath(uri: string, path: string, { forWrite }: { forWrite: boolean }): void {
  const segments = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new ArtifactError('Invalid', uri, 'is not a relative path inside the artifact', { file: path });
  }
  if (path === FILES.manifest) {
    throw new ArtifactError('Invalid', uri, 'is written by commit() only', { file: path });
  }
  if (forWrite && path.startsWith(CHECKPOINTS_DIR)) {
    throw new ArtifactError(
      'Invalid',
      uri,
      'checkpoints are transient and not part of the manifest; write them to the store directly',
      {
        file: path,
      },
    );
  }
}
