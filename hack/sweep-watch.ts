// Follows a HyperparameterSweep for `npm run sweep`: prints a frame (the sweep's state, the best
// trial so far, each trial's epochs) whenever it changes, and returns when the sweep finished.
//   npx tsx hack/sweep-watch.ts <namespace> <sweep>
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { HyperparameterSweep, TrainingJob } from '../api/index.ts';
import { sweepFrame } from './sweep-status.ts';

const [namespace = 'default', name = 'mnist-lr'] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromDefault();
const custom = kc.makeApiClient(CustomObjectsApi);
const api = { group: 'k2k.dev', version: 'v1alpha1', namespace };

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const deadline = started + Number(process.env.K2K_DEMO_TIMEOUT_SECONDS ?? 1800) * 1000;
let last = '';
for (;;) {
  if (Date.now() > deadline) {
    console.log(`\nGave up waiting after ${elapsed().trim()}; the status above says where it stands.`);
    process.exitCode = 1;
    break;
  }
  const sweep = (await custom.getNamespacedCustomObject({
    ...api,
    plural: 'hyperparametersweeps',
    name,
  })) as HyperparameterSweep;
  const { items } = (await custom.listNamespacedCustomObject({
    ...api,
    plural: 'trainingjobs',
    labelSelector: `k2k.dev/sweep=${name}`,
  })) as { items: TrainingJob[] };
  const frame = sweepFrame(sweep, items);
  if (frame !== last) {
    console.log(`${elapsed()}  ${frame}`);
    last = frame;
  }
  const finished = sweep.status?.conditions?.find(
    (c) => (c.type === 'Succeeded' || c.type === 'Failed') && c.status === 'True',
  );
  if (finished) {
    const best = sweep.status?.bestTrial;
    console.log(
      `\n${finished.type} (${finished.reason}). ${best ? `Best trial ${best.name}: ${best.artifact?.uri ?? 'no artifact'}` : 'No best trial.'}`,
    );
    if (finished.type === 'Failed') process.exitCode = 1;
    break;
  }
  await new Promise((r) => setTimeout(r, 1000));
}
