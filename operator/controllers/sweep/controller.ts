// Wiring of the HyperparameterSweep controller: the informers it reads and which of their events
// concern which sweep. The logic is reconcileSweep (reconcile.ts).

import {
  API_VERSION,
  type HyperparameterSweep,
  SWEEP_KIND,
  SWEEP_PLURAL,
  TRAININGJOB_KIND,
  TRAININGJOB_PLURAL,
  type TrainingJob,
} from '../../../api/index.ts';
import type { KubeConfig } from '../../runtime/index.ts';
import { Controller, type EventRecorder, type Manager, type NamespaceScope } from '../../runtime/index.ts';
import { LABEL_SWEEP } from './desired.ts';
import { reconcileSweep, type SweepDeps } from './reconcile.ts';

export interface SweepControllerOptions {
  kubeConfig: KubeConfig;
  /** The namespaces watched (default: all). */
  scope?: NamespaceScope;
  workers?: number;
  events?: EventRecorder;
}

export function setupSweepController(manager: Manager, opts: SweepControllerOptions): Controller {
  const sweeps = manager.scopedInformers<HyperparameterSweep>(
    { apiVersion: API_VERSION, kind: SWEEP_KIND, plural: SWEEP_PLURAL },
    opts.scope,
  );
  const trials = manager.scopedInformers<TrainingJob>(
    {
      apiVersion: API_VERSION,
      kind: TRAININGJOB_KIND,
      plural: TRAININGJOB_PLURAL,
      labelSelector: LABEL_SWEEP,
    },
    opts.scope,
  );
  const deps: SweepDeps = { kubeConfig: opts.kubeConfig, events: opts.events, sweeps, trials };
  const controller = new Controller({
    name: 'hyperparametersweep',
    reconcile: (key, log) => reconcileSweep(deps, key, log),
    workers: opts.workers,
  })
    .watches(sweeps)
    .owns(trials, { apiVersion: API_VERSION, kind: SWEEP_KIND });
  manager.add(controller);
  return controller;
}
