// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
//  - a candidate takes the lease when it is free (no holder) or expired; expiry is judged by the
//    candidate's own clock from when it last saw the lease change, so clock skew does not matter;
//  - the leader renews every retryPeriod and gives up leading when renewals have failed for renewDeadline;
//  - every write carries the resourceVersion it read (optimistic concurrency), so two candidates
//    can never both win the same round;
//  - stop() releases the lease (empty holder, 1s duration) so another candidate takes over at once.
// Fencing: isLeader() is true only until renewDeadline after the send time of the last successful
// write of the lease. Others count the lease duration from when they see that write, which is
// later, so isLeader() turns false at least leaseDuration - renewDeadline before anyone can take
// over; writers check it before each write (apply.ts's write fence), and the renew loop stops the
// controllers at the same moment.
// Unlike client-go's RunOrDie, run() campaigns again after losing the lease, until stop().
import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict, isNotFound, RuntimeError, RuntimeErrorCode } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import type { RuntimeMetrics } from './metrics.ts';
import type { KubeConfig } from './rest.ts';
import { kubeRequest, resourcePath } from './rest.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

const jitterFactor = 1.2;

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private leading = false;
  /** When (our clock) the last successful write of the lease was sent. */
  private heldSince = 0;
  private lease: Lease | undefined;
  /** The holder/renewTime we last saw, and when (our clock): the basis of expiry. */
  private observed: { record: string; at: number } | undefined;
  private stopper = new AbortController();
  private running: Promise<void> | undefined;
  private callbacks: LeaderCallbacks | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: LeaderElectionOptions,
    logger?: Logger,
    private readonly metrics?: RuntimeMetrics,
  ) {
    const lease = opts.leaseDurationSeconds ?? 15;
    const renew = opts.renewDeadlineSeconds ?? 10;
    const retry = opts.retryPeriodSeconds ?? 2;
    if (!Number.isInteger(lease) || lease < 1) {
      throw invalid(`leaseDurationSeconds must be a whole number of seconds >= 1, got ${lease}`);
    }
    if (!(renew < lease))
      throw invalid(`renewDeadlineSeconds (${renew}) must be less than leaseDurationSeconds (${lease})`);
    if (!(retry > 0 && retry * jitterFactor < renew)) {
      throw invalid(
        `retryPeriodSeconds (${retry}) times ${jitterFactor} must be positive and less than renewDeadlineSeconds (${renew})`,
      );
    }
    for (const field of ['namespace', 'name', 'identity'] as const) {
      if (!opts[field]) throw invalid(`${field} is empty`);
    }
    this.leaseDurationMs = lease * 1000;
    this.renewDeadlineMs = renew * 1000;
    this.retryPeriodMs = retry * 1000;
    this.log = (logger ?? createLogger()).child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
    this.metrics?.leader.set({ identity: opts.identity }, 0);
  }

  /** True while this process leads and its last renewal is recent enough that nobody can hold the lease. */
  isLeader(): boolean {
    return Date.now() < this.leaderUntil();
  }

  /** Until when (Date.now() scale) this process may act as leader without another renewal; 0 when not leading. */
  leaderUntil(): number {
    return this.leading ? this.heldSince + this.renewDeadlineMs : 0;
  }

  /** Campaigns, leads, and campaigns again after a loss; resolves after stop() has released the lease. */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.running) return Promise.reject(invalid('run() was already called'));
    this.callbacks = callbacks;
    this.stopper = new AbortController();
    this.running = this.loop(this.stopper.signal);
    return this.running;
  }

  /** Stops leading (onStoppedLeading runs first, so work drains before another takes over) and releases the lease. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running?.catch(() => {});
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      if (signal.aborted) {
        // Won the round that was in flight when stop() came: hand the lease straight back.
        await this.release();
        break;
      }
      this.setLeading(true);
      this.log.info('became leader');
      // Not awaited: starting work must not delay the first renewal.
      void Promise.resolve()
        .then(() => this.callbacks?.onStartedLeading())
        .catch((err: unknown) => this.log.error('onStartedLeading failed', { err }));
      await this.renewUntilLost(signal);
      this.setLeading(false);
      if (signal.aborted) {
        await this.runStopped();
        await this.release();
        break;
      }
      this.log.warn('lost the lease');
      await this.runStopped();
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if ((await this.tryAcquireOrRenew()) === 'held') return true;
      await this.pause(this.retryPeriodMs * (1 + Math.random() * (jitterFactor - 1)), signal);
    }
    return false;
  }

  private async renewUntilLost(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.pause(Math.min(this.retryPeriodMs, this.remainingMs()), signal);
      if (signal.aborted) return;
      // A renewal still in flight at the deadline is too late to matter: the request ends there.
      const round = await this.tryAcquireOrRenew(Math.max(1, this.remainingMs()));
      // Another holder means the lease expired in the others' eyes: stop at once, not after the deadline.
      if (round === 'taken' || this.remainingMs() <= 0) return;
    }
  }

  private remainingMs(): number {
    return this.heldSince + this.renewDeadlineMs - Date.now();
  }

  /** One round: read the lease, and write it if it is ours to take or renew. */
  private async tryAcquireOrRenew(timeoutMs = this.retryPeriodMs * 2): Promise<'held' | 'taken' | 'failed'> {
    const now = new Date();
    const path = this.leasePath();
    timeoutMs = Math.min(timeoutMs, this.retryPeriodMs * 2);
    try {
      let current: Lease;
      try {
        current = await kubeRequest<Lease>(this.kc, { path, timeoutMs });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.lease = await kubeRequest<Lease>(this.kc, {
          method: 'POST',
          path: resourcePath({
            apiVersion: 'coordination.k8s.io/v1',
            plural: 'leases',
            namespace: this.opts.namespace,
          }),
          body: this.leaseWith(this.record(now, undefined)),
          timeoutMs,
        });
        this.observe(this.lease);
        this.heldSince = now.getTime();
        return 'held';
      }
      const spec = current.spec ?? {};
      this.observe(current);
      const mine = spec.holderIdentity === this.opts.identity;
      if (!mine && spec.holderIdentity && !this.expired(spec)) return 'taken';
      this.lease = await kubeRequest<Lease>(this.kc, {
        method: 'PUT',
        path,
        body: {
          ...this.leaseWith(this.record(now, mine ? spec : undefined, spec)),
          metadata: current.metadata,
        },
        timeoutMs,
      });
      this.observe(this.lease);
      this.heldSince = now.getTime();
      return 'held';
    } catch (err) {
      // A conflict means another candidate wrote first: an ordinary lost round, not an error.
      if (!isConflict(err)) this.log.warn('lease request failed', { err });
      return 'failed';
    }
  }

  /** Empties the holder so the next candidate need not wait for the lease to expire. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.opts.identity) return;
    const now = microTime(new Date());
    try {
      await kubeRequest<Lease>(this.kc, {
        method: 'PUT',
        path: this.leasePath(),
        body: {
          ...lease,
          spec: {
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec?.leaseTransitions,
          },
        },
      });
      this.log.info('released the lease');
    } catch (err) {
      // Someone else changed it (conflict) or the server is gone: the lease expires by itself.
      this.log.warn('could not release the lease', { err });
    }
  }

  private record(now: Date, held: LeaseSpec | undefined, previous?: LeaseSpec): LeaseSpec {
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: this.leaseDurationMs / 1000,
      acquireTime: held?.acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: held ? (held.leaseTransitions ?? 0) : (previous?.leaseTransitions ?? -1) + 1,
    };
  }

  private leaseWith(spec: LeaseSpec): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace },
      spec,
    };
  }

  private observe(lease: Lease): void {
    const record = JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
  }

  private expired(spec: LeaseSpec): boolean {
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    return this.observed !== undefined && this.observed.at + durationMs < Date.now();
  }

  private leasePath(): string {
    return resourcePath({
      apiVersion: 'coordination.k8s.io/v1',
      plural: 'leases',
      namespace: this.opts.namespace,
      name: this.opts.name,
    });
  }

  private async runStopped(): Promise<void> {
    try {
      await this.callbacks?.onStoppedLeading();
    } catch (err) {
      this.log.error('onStoppedLeading failed', { err });
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.metrics?.leader.set({ identity: this.opts.identity }, leading ? 1 : 0);
  }

  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, undefined, { signal }).catch(() => {});
  }
}

/** metav1.MicroTime wants exactly six fractional digits; Date has three. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function invalid(message: string): RuntimeError {
  return new RuntimeError(RuntimeErrorCode.InvalidOptions, `leader election: ${message}`);
}
