// The manager owns a process's informers and controllers. Informers start at once, so a standby
// replica keeps warm caches and /readyz can report them synced; controllers run only while this
// process leads. One HTTP port serves /healthz, /readyz and /metrics. SIGTERM stops gracefully:
// controllers drain, the lease is released, the server closes.
//
// /healthz is liveness: only what a restart can fix. It answers (so the event loop turns) and fails
// when a reconcile has been running for reconcileStuckAfterMs (a wedged worker). It never asks about
// the API server: an outage would otherwise restart every replica into CrashLoopBackOff, which
// fixes nothing. API-server reachability (informers synced and not failing) is readiness: /readyz.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { fenceWrites } from './apply.ts';
import type { Controller } from './controller.ts';
import { RuntimeError, RuntimeErrorCode } from './errors.ts';
import { Informer, type InformerOptions, type ResourceRef } from './informer.ts';
import { type LeaderElectionOptions, LeaderElector } from './leader.ts';
import { createLogger, type Logger } from './logger.ts';
import { RuntimeMetrics } from './metrics.ts';
import type { KubeConfig } from './rest.ts';
import { countRequests } from './rest.ts';
import { InformerSet, type NamespaceScope, scopedRefs } from './scope.ts';
import { dropUnreadFields } from './transform.ts';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  registry?: Registry;
  /** host:port of the probe and metrics server (default 127.0.0.1:8081; port 0 picks a free one). */
  probeAddress?: string;
  leaderElection?: LeaderElectionOptions | false;
  /** Stop on SIGTERM and SIGINT (default true). A second signal exits at once. */
  handleSignals?: boolean;
  /** Passed to every informer the manager creates. */
  informerOptions?: Pick<InformerOptions, 'resyncMs' | 'stuckAfterMs' | 'transform' | 'watchIdleTimeoutMs'>;
  /** Every controller re-queues all its primary objects this often unless it sets its own (off when unset). */
  resyncPeriodMs?: number;
  /** /healthz fails once a reconcile has run this long (default 15 minutes). */
  reconcileStuckAfterMs?: number;
}

export class Manager {
  readonly metrics: RuntimeMetrics;
  readonly registry: Registry;
  private readonly kc: KubeConfig;
  private readonly log: Logger;
  private readonly informers = new Map<string, Informer<KubernetesObject>>();
  private readonly controllers: Controller[] = [];
  private readonly elector: LeaderElector | undefined;
  private server: http.Server | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readonly stopped: Promise<void>;
  private resolveStopped = () => {};
  private readonly onSignal = (signal: NodeJS.Signals) => this.handleSignal(signal);

  constructor(private readonly opts: ManagerOptions) {
    this.kc = opts.kubeConfig;
    this.log = opts.logger ?? createLogger();
    this.registry = opts.registry ?? new Registry();
    this.metrics = new RuntimeMetrics(this.registry);
    countRequests(this.kc, this.metrics.restRequests);
    if (opts.leaderElection) {
      const elector = new LeaderElector(this.kc, opts.leaderElection, this.log, this.metrics);
      this.elector = elector;
      fenceWrites(this.kc, () => elector.isLeader());
    }
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
  }

  /** The informer of `ref`, shared: the same ref always returns the same informer. */
  informer<T extends KubernetesObject = KubernetesObject>(ref: ResourceRef): Informer<T> {
    const id = JSON.stringify([
      ref.apiVersion,
      ref.kind,
      ref.plural,
      ref.namespace ?? '',
      ref.labelSelector ?? '',
      ref.fieldSelector ?? '',
    ]);
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer(this.kc, ref, {
        transform: dropUnreadFields,
        ...this.opts.informerOptions,
        logger: this.log,
        metrics: this.metrics,
      });
      this.informers.set(id, informer);
      if (this.started) this.startInformer(informer);
    }
    return informer as unknown as Informer<T>;
  }

  /** The informers of `ref` across `scope` (shared like informer()), read and watched as one. */
  scopedInformers<T extends KubernetesObject = KubernetesObject>(
    ref: Omit<ResourceRef, 'namespace'>,
    scope: NamespaceScope = {},
  ): InformerSet<T> {
    return new InformerSet(scopedRefs(ref, scope).map((r) => this.informer<T>(r)));
  }

  add(controller: Controller): void {
    controller.useMetrics(this.metrics);
    controller.useResyncPeriod(this.opts.resyncPeriodMs);
    this.controllers.push(controller);
    if (this.started && (!this.elector || this.elector.isLeader())) void this.startController(controller);
  }

  /** Listens, starts the informers and campaigns (or starts the controllers); resolves once listening. */
  async start(): Promise<void> {
    if (this.started) throw new RuntimeError(RuntimeErrorCode.InvalidOptions, 'manager already started');
    this.started = true;
    await this.listen();
    if (this.opts.handleSignals ?? true) {
      process.on('SIGTERM', this.onSignal);
      process.on('SIGINT', this.onSignal);
    }
    for (const informer of this.informers.values()) this.startInformer(informer);
    if (this.elector) {
      this.elector
        .run({
          onStartedLeading: () => this.startControllers(),
          onStoppedLeading: () => this.stopControllers(),
        })
        .catch((err: unknown) => this.log.error('leader election ended', { err }));
    } else {
      void this.startControllers();
    }
  }

  /** Drains the controllers, releases the lease, stops the informers and closes the server. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** Resolves once the manager has stopped (for instance after SIGTERM). */
  done(): Promise<void> {
    return this.stopped;
  }

  /** Whether this process may write now: always without leader election, else while its lease is safely held. */
  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : true;
  }

  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    if (!a || typeof a === 'string') return undefined;
    return { host: (a as AddressInfo).address, port: (a as AddressInfo).port };
  }

  private async doStop(): Promise<void> {
    this.log.info('stopping');
    process.off('SIGTERM', this.onSignal);
    process.off('SIGINT', this.onSignal);
    // The elector calls stopControllers before it releases the lease, so no two leaders overlap.
    if (this.elector) await this.elector.stop();
    else await this.stopControllers();
    for (const informer of this.informers.values()) informer.stop();
    await this.closeServer();
    this.log.info('stopped');
    this.resolveStopped();
  }

  private handleSignal(signal: NodeJS.Signals): void {
    if (this.stopping) {
      this.log.warn('second signal, exiting without waiting', { signal });
      process.exit(1);
    }
    this.log.info('signal received, stopping', { signal });
    // A signal stops the whole process: exit once shut down, even if some library keeps a socket open.
    void this.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        this.log.error('stop failed', { err });
        process.exit(1);
      },
    );
  }

  private startInformer(informer: Informer<KubernetesObject>): void {
    // start() resolves on sync and retries errors by itself; a rejection only means it was stopped first.
    informer.start().catch(() => {});
  }

  private async startControllers(): Promise<void> {
    await Promise.all(this.controllers.map((c) => this.startController(c)));
  }

  private async startController(c: Controller): Promise<void> {
    try {
      await c.start();
    } catch (err) {
      this.log.error('controller did not start', { controller: c.name, err });
    }
  }

  private async stopControllers(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
  }

  private listen(): Promise<void> {
    const address = this.opts.probeAddress ?? '127.0.0.1:8081';
    const match = /^(.*):(\d+)$/.exec(address);
    if (!match) {
      throw new RuntimeError(
        RuntimeErrorCode.InvalidOptions,
        `probeAddress ${JSON.stringify(address)} is not host:port`,
      );
    }
    const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
    const port = Number(match[2]);
    const server = http.createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        this.log.error('probe request failed', { url: req.url, err });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.log.info('serving probes and metrics', { address: this.address() });
        resolve();
      });
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const informers = [...this.informers.values()];
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${body}\n`);
    };
    switch (path) {
      case '/healthz': {
        const limit = this.opts.reconcileStuckAfterMs ?? 15 * 60_000;
        const stuck = this.controllers.flatMap((c) =>
          c.stuckReconciles(limit).map((r) => `${c.name} ${r.key} (${r.seconds}s)`),
        );
        return stuck.length ? text(500, `reconciles stuck: ${stuck.join(', ')}`) : text(200, 'ok');
      }
      case '/readyz': {
        const waiting = informers.filter((i) => !i.hasSynced()).map((i) => i.resource);
        if (waiting.length) return text(503, `informers not synced: ${waiting.join(', ')}`);
        const failing = informers.filter((i) => !i.healthy()).map((i) => i.resource);
        if (failing.length) return text(503, `informers failing: ${failing.join(', ')}`);
        return text(200, 'ok');
      }
      case '/metrics': {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType });
        res.end(body);
        return;
      }
      default:
        return text(404, 'not found: try /healthz, /readyz or /metrics');
    }
  }

  private closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
