// The API server refusing a child as Invalid (422) is an answer about the spec the child was built
// from: the same spec gets the same answer however often it is retried. Admission (the CRDs' rules)
// should have refused the spec; what slips through stalls with the API server's words, which name
// the child's field, instead of retrying forever.
import type { KubernetesObject } from '@kubernetes/client-node';
import { RefusalReason } from '../../api/index.ts';
import type { KubeConfig } from '../runtime/index.ts';
import { apiStatus, apply, KubeApiError, TerminalError } from '../runtime/index.ts';
import type { Refusal } from './conditions.ts';

/** Ready reason InvalidSpec and kstatus Stalled on the resource; not retried until the spec changes. */
export class InvalidSpecError extends TerminalError {}

/** A pass's error as a refusal (Stalled, Ready reason InvalidSpec) when it is an InvalidSpecError. */
export function invalidSpecRefusal(error: Error | undefined): Refusal | undefined {
  return error instanceof InvalidSpecError
    ? { reason: RefusalReason.InvalidSpec, message: error.message }
    : undefined;
}

/** An error of applying `child`, as an InvalidSpecError when retrying cannot fix it. */
export function classifyApplyError(err: unknown, child: KubernetesObject): Error {
  if (apiStatus(err) === 422) {
    const body = err instanceof KubeApiError ? (err.body as { message?: unknown } | undefined) : undefined;
    const answer = typeof body?.message === 'string' ? body.message : (err as Error).message;
    return new InvalidSpecError(
      `the API server refused the ${child.kind} built from this spec (change the spec): ${answer}`,
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Server-side applies a child the operator built; a refusal retrying cannot fix is an InvalidSpecError. */
export async function applyChild<T extends KubernetesObject>(kc: KubeConfig, child: T): Promise<T> {
  try {
    return await apply(kc, child);
  } catch (err) {
    throw classifyApplyError(err, child);
  }
}
