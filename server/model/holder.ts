// Owns "the model": loads the configured artifact, reports readiness (loaded AND warmed up), and
// swaps versions on reload without dropping requests: a request acquires the current ServingModel
// and keeps it; the old version is disposed only after its last request finished.
//
// K2K_MODEL_URI names either a version (…/<model>/<version>/) or a model (…/<model>/). A model URI
// means "the latest complete version": it is resolved at start, on POST /admin/reload, and on each
// poll (K2K_POLL_INTERVAL_SECONDS). A version URI is loaded once; polling then only retries a
// failed initial load.
//
// The first load is retried a bounded number of times (loadUntilServing); then the holder gives
// up with a coded LoadFailure, which main.ts turns into the termination message the operator
// reads (api/model-load.ts), instead of looking like a model that is still loading.
import * as tf from '@tensorflow/tfjs';
import {
  ArtifactError,
  classifyModelURI,
  isArtifactError,
  type LoadedArtifact,
  latestVersion,
  readArtifact,
} from '../../lib/artifact/index.ts';
import { joinURI, type ObjectStore } from '../../lib/storage/index.ts';
import type { BatchSettings } from '../batcher.ts';
import type { DriftSettings } from '../drift/monitor.ts';
import { ServeError } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import { type BackendChoice, chooseBackend } from './backend-choice.ts';
import { classifyLoadFailure, type LoadFailure } from './load-failure.ts';
import { ServingModel } from './serving-model.ts';

export type ModelState = 'loading' | 'ready' | 'failed' | 'stopping';

export interface ModelHolderOptions {
  store: ObjectStore;
  uri: string;
  name: string;
  batch: BatchSettings;
  drift: DriftSettings;
  metrics: ServerMetrics;
  /** K2K_BACKEND and the backends that initialised for it (backend.ts); the first load chooses among them. */
  backend: { requested: string; candidates: readonly string[] };
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/** How hard the first load tries before giving up. */
export interface LoadRetry {
  /** Attempts in all (1 = no retry). Permanent failures give up after the first. */
  attempts: number;
  /** Wait before the second attempt; each later wait doubles, up to MAX_RETRY_DELAY_MS. */
  delayMs: number;
}

const MAX_RETRY_DELAY_MS = 30_000;

export interface LoadOutcome {
  /** True if a new version was loaded and now serves; false if the current one was kept. */
  changed: boolean;
  version: string;
}

export class ModelHolder {
  state: ModelState = 'loading';
  /** Why the last load failed (shown on the ready endpoints while no model serves). */
  lastError: string | undefined;
  /** The last load failure, coded (cleared by a successful load). */
  lastFailure: LoadFailure | undefined;
  current: ServingModel | undefined;
  /** The backend chosen at the first successful load; later versions run on it too. */
  private backendChoice: BackendChoice | undefined;
  private loading: Promise<LoadOutcome> | undefined;
  /** A version whose artifact is broken for good (tampered, invalid): polls do not fetch it again. */
  private broken: { version: string; message: string } | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** True while loadUntilServing retries: polls leave the first load to it. */
  private starting = false;
  private readonly kind: 'version' | 'model';

  constructor(private readonly opts: ModelHolderOptions) {
    this.kind = classifyModelURI(opts.uri).kind;
    opts.metrics.setDriftSource(() => {
      const d = this.current?.drift;
      return d ? { report: d.report(), settings: d.settings } : undefined;
    });
  }

  get name(): string {
    return this.opts.name;
  }

  /** Read through a getter: TypeScript would keep a narrowed state across an await. */
  get stopping(): boolean {
    return this.state === 'stopping';
  }

  get ready(): boolean {
    return this.state === 'ready' && this.current !== undefined;
  }

  /** The reason readiness is false, for the ready endpoints. */
  get notReadyReason(): string {
    if (this.state === 'stopping') return 'shutting down';
    if (this.state === 'failed') return `model load failed: ${this.lastError}`;
    return `model ${this.opts.name} is loading from ${this.opts.uri}`;
  }

  /** The model serving new requests; ModelNotReady if none. */
  serving(): ServingModel {
    // While stopping, requests that still arrive (endpoints take a moment to drop a not-ready pod)
    // are served as long as the model is there.
    if (!this.current) {
      throw new ServeError(this.state === 'stopping' ? 'ShuttingDown' : 'ModelNotReady', this.notReadyReason);
    }
    return this.current;
  }

  /**
   * Loads the configured URI (the latest version for a model URI) unless that version already
   * serves. Concurrent calls share one load. A failed reload keeps the current version serving.
   */
  load(opts: { poll?: boolean } = {}): Promise<LoadOutcome> {
    if (!this.loading) {
      this.loading = this.doLoad(opts.poll ?? false).finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async resolveVersionURI(): Promise<{ uri: string; version: string }> {
    const { store, uri } = this.opts;
    if (this.kind === 'version') return { uri, version: classifyModelURI(uri).version! };
    const version = await latestVersion(store, uri);
    if (!version) {
      throw new ArtifactError(
        'Incomplete',
        uri,
        'no complete version (no …/<version>/manifest.json) under the model URI',
      );
    }
    return { uri: joinURI(uri, `${version}/`), version };
  }

  private async doLoad(poll: boolean): Promise<LoadOutcome> {
    const { metrics, log } = this.opts;
    const started = process.hrtime.bigint();
    let version = 'unknown';
    try {
      const target = await this.resolveVersionURI();
      version = target.version;
      if (this.current?.version === version) return { changed: false, version };
      if (poll && this.broken?.version === version) {
        // Re-downloading a broken artifact every poll would not change it (a version is
        // immutable once complete); POST /admin/reload still tries.
        return { changed: false, version: this.current?.version ?? 'none' };
      }
      log.info({ uri: target.uri }, 'loading model');
      const artifact = await readArtifact(this.opts.store, target.uri);
      const model = await this.loadOnBackend(artifact);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.loadDuration.observe({ version: model.version, result: 'success' }, seconds);
      if (this.state === 'stopping') {
        model.dispose();
        return { changed: false, version };
      }
      const previous = this.current;
      this.current = model;
      this.state = 'ready';
      this.lastError = undefined;
      this.lastFailure = undefined;
      metrics.setVersion(model.version);
      metrics.setServing({
        uri: model.uri,
        artifact_sha256: model.manifestSha256,
        task: model.task,
        backend: tf.getBackend(),
      });
      metrics.ready.set(1);
      log.info({ version: model.version, uri: model.uri, seconds }, 'model ready');
      if (previous) {
        previous.retire();
        void previous.idle().then(() => previous.dispose());
      }
      return { changed: true, version: model.version };
    } catch (err) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.loadDuration.observe({ version, result: 'failure' }, seconds);
      const message = err instanceof Error ? err.message : String(err);
      if (isArtifactError(err, 'Tampered') || isArtifactError(err, 'Invalid'))
        this.broken = { version, message };
      this.lastFailure = classifyLoadFailure(err, this.opts.uri);
      log.error({ err, uri: this.opts.uri, reason: this.lastFailure.code }, 'model load failed');
      if (!this.current && this.state !== 'stopping') {
        this.state = 'failed';
        this.lastError = this.lastFailure.message;
      }
      throw new ServeError(this.current ? 'ReloadFailed' : 'ModelNotReady', `model load failed: ${message}`, {
        cause: err,
      });
    }
  }

  /**
   * Loads a version on the process's backend; the first load chooses it (backend-choice.ts).
   * Later versions do not choose again: switching tfjs's one global backend while the previous
   * version still answers requests would move its weights between backends mid-batch.
   */
  private async loadOnBackend(artifact: LoadedArtifact): Promise<ServingModel> {
    const { name, batch, drift, metrics, log } = this.opts;
    const load = () => ServingModel.load(artifact, { name, batch, drift, metrics, log });
    if (this.backendChoice) {
      await tf.setBackend(this.backendChoice.backend);
      const model = await load();
      model.backend = this.backendChoice;
      return model;
    }
    const { requested, candidates } = this.opts.backend;
    const { model, choice } = await chooseBackend(requested, candidates, batch.maxBatchSize, load);
    this.backendChoice = choice;
    model.backend = choice;
    metrics.setBackend(choice);
    log.info(
      { backend: choice.backend, requested, timings: choice.timings, skipped: choice.skipped },
      requested === 'auto' ? 'TensorFlow.js backend chosen by measurement' : 'TensorFlow.js backend measured',
    );
    return model;
  }

  /**
   * The first load, retried with doubling waits. Resolves undefined once a model serves (or the
   * server stops), or with the failure that made it give up: a permanent one at once, any other
   * after `retry.attempts` attempts.
   */
  async loadUntilServing(retry: LoadRetry): Promise<LoadFailure | undefined> {
    this.starting = true;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.load();
          return undefined;
        } catch {
          const failure = this.lastFailure;
          if (this.stopping || this.current || !failure) return undefined;
          if (failure.permanent || attempt >= retry.attempts) return failure;
          const wait = Math.min(retry.delayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
          this.opts.log.warn({ attempt, of: retry.attempts, retryInMs: wait }, 'retrying the model load');
          await new Promise((resolve) => setTimeout(resolve, wait).unref());
          if (this.stopping) return undefined;
        }
      }
    } finally {
      this.starting = false;
    }
  }

  /** Polls for a newer version (model URI) or retries a failed load (any URI). */
  startPolling(intervalMs: number): void {
    if (intervalMs <= 0 || this.poller) return;
    this.poller = setInterval(() => {
      if (this.state === 'stopping' || this.loading || this.starting) return;
      if (this.kind === 'version' && this.current) return;
      this.load({ poll: true }).catch(() => {
        // Logged in doLoad; the next poll tries again.
      });
    }, intervalMs);
    this.poller.unref();
  }

  /** Stops loading new versions and reports not ready; in-flight requests keep their model. */
  beginShutdown(): void {
    this.state = 'stopping';
    this.opts.metrics.ready.set(0);
    this.current?.retire();
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  async close(): Promise<void> {
    this.beginShutdown();
    await this.loading?.catch(() => undefined);
    const model = this.current;
    this.current = undefined;
    if (model) {
      await model.idle();
      model.dispose();
    }
  }
}
