// Optional integrations are discovered, not assumed: whether the API server serves some kinds of
// one group/version (a CRD someone may install or remove at any time), asked again every
// intervalMs so kinds installed later are picked up. Discovery documents are readable by every
// authenticated client (system:discovery), so this needs no RBAC; watching CustomResourceDefinitions
// would need a ClusterRole, which the namespaced mode does not have.

import { KubeApiError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { KubeConfig } from './rest.ts';
import { groupVersionPath, kubeRequest } from './rest.ts';

/** served: every kind is there; missing: at least one is not; unknown: the API server did not say. */
export type Availability = { state: 'served' } | { state: 'missing' } | { state: 'unknown'; error: string };

/** The answer for `kinds` from the resources a group/version document lists (undefined: not served). */
export function availabilityOf(
  resources: ReadonlyArray<{ kind: string; name: string }> | undefined,
  kinds: readonly string[],
): Availability {
  const served = new Set((resources ?? []).filter((r) => !r.name.includes('/')).map((r) => r.kind));
  return kinds.every((k) => served.has(k)) ? { state: 'served' } : { state: 'missing' };
}

export interface KindDiscoveryOptions {
  /** How often to ask again (default 60 s). */
  intervalMs?: number;
  /** Requests time out after this long (default 10 s). */
  timeoutMs?: number;
  logger?: Logger;
}

export class KindDiscovery {
  private answer: Promise<Availability> | undefined;
  private last: Availability | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly kc: KubeConfig,
    readonly apiVersion: string,
    readonly kinds: readonly string[],
    private readonly opts: KindDiscoveryOptions = {},
  ) {}

  /**
   * The latest answer; the first call waits for the first check. A failed check after a good one
   * keeps the good one (a passing API-server outage does not make kinds disappear).
   */
  current(): Promise<Availability> {
    this.answer ??= this.check();
    return this.answer;
  }

  /** Asks again every intervalMs and calls `onChange` when the answer changed (not on the first). */
  start(onChange: (now: Availability) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // A check still waiting for its answer is not doubled (nor is its change reported twice).
      if (this.checking) return;
      this.checking = true;
      const before = this.last;
      const next = this.check();
      void next.then((now) => {
        this.checking = false;
        this.answer = next;
        if (before && now.state !== before.state) {
          this.opts.logger?.info('discovery changed', {
            apiVersion: this.apiVersion,
            kinds: this.kinds,
            ...now,
          });
          onChange(now);
        }
      });
    }, this.opts.intervalMs ?? 60_000);
    // The operator exits on SIGTERM however the timer stands.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<Availability> {
    let now: Availability;
    try {
      const doc = await kubeRequest<{ resources?: Array<{ kind: string; name: string }> }>(this.kc, {
        path: groupVersionPath(this.apiVersion),
        timeoutMs: this.opts.timeoutMs ?? 10_000,
      });
      now = availabilityOf(doc.resources, this.kinds);
    } catch (err) {
      // 404: the group/version is not served at all.
      if (err instanceof KubeApiError && err.status === 404) now = { state: 'missing' };
      else now = this.last ?? { state: 'unknown', error: err instanceof Error ? err.message : String(err) };
    }
    this.last = now;
    return now;
  }
}
