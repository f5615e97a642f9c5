// Sample efficiency of the sweep algorithms: trials (and epochs) needed to get within tolerance
// of a known optimum, median over seeds, for grid, random, k2k's TPE and ASHA, with Optuna's
// TPESampler (optuna_peer.py, defaults) run in the same invocation on the same functions.
// Results are printed as a Markdown table; nothing here is timed.
//
// Usage: npx tsx bench/sweep/run.ts [--seeds 20] [--budget 400] [--no-optuna]
// It first runs bench/sweep/optuna-venv.sh (cached).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { grid } from '../../operator/controllers/sweep/algorithms/grid.ts';
import { suggest } from '../../operator/controllers/sweep/algorithms/index.ts';
import {
  OBJECTIVES,
  type Objective,
  trialsToTarget,
} from '../../operator/controllers/sweep/algorithms/objectives.ts';
import { randomAssignment } from '../../operator/controllers/sweep/algorithms/random.ts';
import { prng } from '../../operator/controllers/sweep/algorithms/rng.ts';
import type { Assignment, Dimension, Trial } from '../../operator/controllers/sweep/algorithms/types.ts';
import { median } from '../../operator/controllers/sweep/pruners/median.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    budget: { type: 'string', default: '400' },
    'no-optuna': { type: 'boolean', default: false },
  },
});
const seeds = Array.from({ length: Number(args.seeds) }, (_, i) => i + 1);
const budget = Number(args.budget);
/** Every non-ASHA trial trains this many epochs; ASHA's rungs are 1, 3, 9. */
const EPOCHS = 9;
const RESOURCE = { minEpochs: 1, maxEpochs: EPOCHS, reductionFactor: 3 };

/** The grid the benchmark runs: 11 points per linear double, one per decade on a log scale. */
function gridDimension(d: Dimension): Dimension {
  if (d.type !== 'double') return d;
  return { ...d, points: d.scale === 'log' ? Math.round(Math.log10(d.max / d.min)) + 1 : 11 };
}

function gridTrials(o: Objective): { trials: number; size: number } {
  const g = grid(o.space.map(gridDimension));
  for (let i = 0; i < g.size; i++)
    if (o.f(g.at(i)) <= o.optimum + o.tolerance) return { trials: i + 1, size: g.size };
  return { trials: Infinity, size: g.size };
}

/**
 * A learning curve for ASHA: the value after e epochs is f + c/e, with c in [0, 2) fixed per
 * configuration, so early rungs rank configurations imperfectly, as real training does.
 */
function valueAfter(o: Objective, x: Assignment, epochs: number): number {
  let h = 0;
  for (const ch of JSON.stringify(x)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return o.f(x) + (2 * prng(h).next()) / epochs;
}

/** Trials to target, the epochs they trained, and the epochs they would have trained had every promotion restarted. */
function ashaToTarget(o: Objective, seed: number): { trials: number; epochs: number; restarting: number } {
  const trials: Trial[] = [];
  let epochs = 0;
  let restarting = 0;
  for (let index = 0; index < budget; index++) {
    const s = suggest('asha', {
      seed,
      space: o.space,
      goal: 'minimize',
      index,
      trials,
      budget,
      resource: RESOURCE,
    });
    if (s.kind !== 'trial' && s.kind !== 'promote') throw new Error(`asha: ${JSON.stringify(s)}`);
    const total = s.epochs ?? RESOURCE.minEpochs;
    // A promotion continues the promoted trial's run (spec.resumeFrom): it trains only the extra epochs.
    epochs += s.kind === 'promote' ? total - trials[s.trial]!.epochs! : total;
    restarting += total;
    const value = valueAfter(o, s.parameters, total);
    trials.push({
      index,
      parameters: s.parameters,
      state: 'Succeeded',
      objective: value,
      epochs: total,
      resumes: s.kind === 'promote' ? s.trial : undefined,
    });
    if (value <= o.optimum + o.tolerance) return { trials: index + 1, epochs, restarting };
  }
  return { trials: Infinity, epochs: Infinity, restarting: Infinity };
}

interface Peer {
  version: string;
  results: Record<string, (number | null)[]>;
  check: number[];
}

function runOptuna(): Peer | undefined {
  if (args['no-optuna']) return undefined;
  const python = execFileSync('bash', [path.join(here, 'optuna-venv.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const check = OBJECTIVES.flatMap((o) =>
    [1, 2, 3].map((i) => ({ objective: o.name, parameters: randomAssignment(o.space, 42, i) })),
  );
  const job = { objectives: OBJECTIVES, seeds, budget, check };
  const peer = JSON.parse(
    execFileSync(python, [path.join(here, 'optuna_peer.py')], {
      input: JSON.stringify(job),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  ) as Peer;
  // Both sides must measure the same functions: compare them on a few points first.
  check.forEach((c, i) => {
    const ours = OBJECTIVES.find((o) => o.name === c.objective)!.f(c.parameters);
    if (Math.abs(ours - peer.check[i]!) > 1e-9)
      throw new Error(
        `optuna_peer.py's ${c.objective} disagrees: ${peer.check[i]} vs ${ours} at ${JSON.stringify(c.parameters)}`,
      );
  });
  return peer;
}

const fmt = (x: number) => (Number.isFinite(x) ? String(x) : `>${budget}`);
/** The q-quantile (linear interpolation), to show the spread over seeds next to the median. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = s[Math.floor(at)]!;
  const hi = s[Math.ceil(at)]!;
  return lo === hi ? lo : lo + (hi - lo) * (at - Math.floor(at));
}
/** Median trials [interquartile range], and the epochs they trained when every trial trains the full EPOCHS. */
const withEpochs = (trials: number[]) => {
  const m = median(trials);
  if (!Number.isFinite(m)) return fmt(m);
  return `${m} [${fmt(quantile(trials, 0.25))}–${fmt(quantile(trials, 0.75))}] (${m * EPOCHS} epochs)`;
};

const peer = runOptuna();
const started = Date.now();
const rows = OBJECTIVES.map((o) => {
  const g = gridTrials(o);
  const asha = seeds.map((seed) => ashaToTarget(o, seed));
  const ashaTrials = median(asha.map((a) => a.trials));
  return [
    o.name,
    `f ≤ ${+(o.optimum + o.tolerance).toFixed(6)}`,
    `${Number.isFinite(g.trials) ? g.trials : 'never'} of ${g.size}`,
    withEpochs(seeds.map((seed) => trialsToTarget('random', o, seed, budget))),
    withEpochs(seeds.map((seed) => trialsToTarget('tpe', o, seed, budget))),
    peer ? withEpochs(peer.results[o.name]!.map((n) => n ?? Infinity)) : 'not run',
    Number.isFinite(ashaTrials)
      ? `${ashaTrials} (${median(asha.map((a) => a.epochs))} epochs; ${median(asha.map((a) => a.restarting))} if promotions restarted)`
      : fmt(ashaTrials),
  ];
});

console.log(
  `Trials to target, median [interquartile range] over ${seeds.length} seeds (budget ${budget}; >${budget}: not reached). ` +
    `Grid, random and TPE trials train ${EPOCHS} epochs each; ASHA's rungs train 1, 3 and ${EPOCHS}.`,
);
console.log(
  `${os.cpus().length} CPUs, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ` +
    `node ${process.version}, optuna ${peer?.version ?? 'not run'}, k2k side took ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
console.log('| objective | target | grid | random | k2k TPE | Optuna TPE | ASHA |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
