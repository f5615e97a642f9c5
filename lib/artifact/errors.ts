// Artifact errors say which artifact (and which file of it) is wrong, so an operator reading a
// TrainingJob's or a ModelDeployment's status knows what to look at.
export const ArtifactErrorCodes = ['Incomplete', 'Tampered', 'Invalid', 'AlreadyExists'] as const;
export type ArtifactErrorCode = (typeof ArtifactErrorCodes)[number];

export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  readonly code: ArtifactErrorCode;
  /** The artifact version's URI (…/<model>/<version>/). */
  readonly uri: string;
  /** The file inside the artifact, when one is to blame. */
  readonly file?: string;

  constructor(
    code: ArtifactErrorCode,
    uri: string,
    detail: string,
    opts: { file?: string; cause?: unknown } = {},
  ) {
    super(
      `${uri}${opts.file ?? ''}: ${detail}`,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.code = code;
    this.uri = uri;
    if (opts.file !== undefined) this.file = opts.file;
  }
}

export function isArtifactError(err: unknown, code?: ArtifactErrorCode): err is ArtifactError {
  return err instanceof ArtifactError && (code === undefined || err.code === code);
}
