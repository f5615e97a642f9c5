// The one way a test waits for something it cannot be told about: poll a check until it holds,
// within a bound, and fail naming what was awaited and the check's last error (Gomega's
// Eventually). Unit, integration and e2e tests all use it.

export interface EventuallyOptions {
  /** What is awaited, for the failure message: "the Job to succeed". */
  what: string;
  /** The bound: fail after this long. */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined or false and returns that value. A
 * check that throws counts as "not yet"; its error ends the timeout message.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { what, timeoutMs = 30_000, intervalMs = 200 }: EventuallyOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const last = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, a timeout...) is its cause. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause ? `${err.message} (${cause.code ?? cause.message})` : err.message;
}
