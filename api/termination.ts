// The termination message: the trainer (and the model server, when a load gave up) writes it to
// its terminationMessagePath, Kubernetes copies it into the pod status (state.terminated.message),
// and the operator reads the artifact's identity or the error there without scraping logs. Kubernetes keeps at most 4096
// bytes of it, so encoding cuts what can be cut and never the JSON structure.
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { DatasetRead } from './lineage.ts';

/**
 * The containers' terminationMessagePath: the trainer's default for TrainerEnv.TerminationLog and
 * the model server's for terminationLog (api/server.ts).
 */
export const TERMINATION_LOG = '/dev/termination-log';
export const TERMINATION_LIMIT = 4096;

/**
 * What the operator accepts. Every part is optional so that a message of an older trainer (or
 * a log line, which FallbackToLogsOnError puts here) is still read for what it has.
 */
export const TerminationMessage = Type.Object({
  artifact: Type.Optional(
    Type.Object({
      uri: Type.String({ minLength: 1 }),
      version: Type.String({ minLength: 1 }),
      manifestSha256: Type.Optional(Type.String()),
    }),
  ),
  /** null where training produced a non-finite value (JSON has no NaN). */
  metrics: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]))),
  backend: Type.Optional(Type.String()),
  /** The dataset objects the run trained on (the first ones that fit; the manifest lists all). */
  dataset: Type.Optional(DatasetRead),
  error: Type.Optional(Type.Object({ code: Type.Optional(Type.String()), message: Type.String() })),
});
export type TerminationMessage = Static<typeof TerminationMessage>;

type Artifact = Required<NonNullable<TerminationMessage['artifact']>>;
/** What the trainer writes when it succeeded: every field set. */
export interface TrainerSucceeded {
  artifact: Artifact;
  metrics: NonNullable<TerminationMessage['metrics']>;
  backend: string;
  /** Absent from an artifact written before trainers recorded their dataset. */
  dataset?: DatasetRead;
}
/** What the trainer writes when it failed: its error code (trainer/errors.ts) and message. */
export interface TrainerFailed {
  error: Required<NonNullable<TerminationMessage['error']>>;
}

/** Compact JSON under the size limit: long error messages and then metrics are cut, never the JSON structure. */
export function encodeTermination(msg: TrainerSucceeded | TrainerFailed): string {
  let text = JSON.stringify(msg);
  if (Buffer.byteLength(text) <= TERMINATION_LIMIT) return text;
  if ('error' in msg) {
    let message = msg.error.message;
    while (Buffer.byteLength(text) > TERMINATION_LIMIT && message.length > 0) {
      message = message.slice(
        0,
        Math.max(0, message.length - (Buffer.byteLength(text) - TERMINATION_LIMIT) - 3),
      );
      text = JSON.stringify({ error: { code: msg.error.code, message: `${message}...` } });
    }
    return text;
  }
  // The dataset's objects and the metrics are the unbounded parts of a success message. The
  // objects go first, from the end (the manifest lists them all; the digest and count stay): the
  // longest first part of the list that fits, found by bisection, since a dataset may have
  // thousands of objects and one JSON.stringify per object dropped would be quadratic.
  let cut: TrainerSucceeded = msg;
  const files = msg.dataset?.files ?? [];
  if (Buffer.byteLength(text) > TERMINATION_LIMIT && files.length > 0) {
    const keeping = (n: number): TrainerSucceeded => ({
      ...msg,
      dataset: { ...msg.dataset!, files: files.slice(0, n) },
    });
    let fits = 0; // the most objects known to fit (0 when none does: the metrics are cut next)
    let tooMany = files.length; // the fewest known not to fit
    while (tooMany - fits > 1) {
      const mid = (fits + tooMany) >>> 1;
      if (Buffer.byteLength(JSON.stringify(keeping(mid))) <= TERMINATION_LIMIT) fits = mid;
      else tooMany = mid;
    }
    cut = keeping(fits);
    text = JSON.stringify(cut);
  }
  const metrics = { ...msg.metrics };
  const keys = Object.keys(metrics);
  while (Buffer.byteLength(text) > TERMINATION_LIMIT && keys.length > 0) {
    delete metrics[keys.pop()!];
    text = JSON.stringify({ ...cut, metrics });
  }
  return text;
}

/**
 * Reads a termination message. Text that is not a message (the log tail FallbackToLogsOnError
 * puts here when the trainer wrote nothing) becomes an error carrying its last three lines.
 */
export function decodeTermination(text: string | undefined): TerminationMessage | undefined {
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (Value.Check(TerminationMessage, parsed)) return parsed;
  return { error: { message: text.trim().split('\n').slice(-3).join(' ') } };
}
