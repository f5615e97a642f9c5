// Follows the drift → retrain → canary → promote loop of a ModelDeployment for `npm run journey`:
// prints a line whenever the Drifting condition, the retraining loop, the canary or the served
// artifact changes, and returns once a retrained model was promoted and the drift cleared (exit 0)
// or the loop ended otherwise: the retrain failed, or its canary was rolled back (exit 1).
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/index.ts';

const [namespace = 'default', name = 'mnist-journey'] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromDefault();
const custom = kc.makeApiClient(CustomObjectsApi);

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const deadline = started + Number(process.env.K2K_DEMO_TIMEOUT_SECONDS ?? 2400) * 1000;

/** The lines that describe the loop now, one per part. */
function frame(md: ModelDeployment): Record<string, string> {
  const s = md.status;
  const drifting = s?.conditions?.find((c) => c.type === 'Drifting');
  const canary = s?.canary;
  return {
    drift: drifting ? `Drifting=${drifting.status} (${drifting.reason})` : 'Drifting: not known yet',
    retrain: s?.retraining ? `retraining: ${s.retraining.message}` : 'retraining: no status yet',
    canary: canary ? `canary ${canary.phase} at ${canary.weight}%: ${canary.message}` : 'canary: none',
    serving: `serving ${s?.artifact?.uri ?? 'nothing yet'}`,
  };
}

let last: Record<string, string> = {};
let promotedAt: number | undefined;
for (;;) {
  if (Date.now() > deadline) {
    console.log(`\nGave up after ${elapsed().trim()}; the lines above say where the loop stands.`);
    process.exitCode = 1;
    break;
  }
  const md = (await custom.getNamespacedCustomObject({
    group: 'k2k.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'modeldeployments',
    name,
  })) as ModelDeployment;
  const now = frame(md);
  for (const [part, line] of Object.entries(now))
    if (last[part] !== line) console.log(`${elapsed()}  ${line}`);
  last = now;
  const ended = md.status?.retraining?.last;
  if (ended?.outcome === 'Failed' || ended?.canary === 'RolledBack' || ended?.canary === 'Aborted') {
    console.log(`\nThe loop ended without a promotion: ${md.status?.retraining?.message}`);
    process.exitCode = 1;
    break;
  }
  if (ended?.canary === 'Promoted') promotedAt ??= Date.now();
  const drifting = md.status?.conditions?.find((c) => c.type === 'Drifting');
  if (
    promotedAt &&
    drifting?.status === 'False' &&
    Date.parse(drifting.lastTransitionTime) >= promotedAt - 1000
  ) {
    console.log(`\nRetrained, canaried, promoted, and the drift cleared in ${elapsed().trim()}.`);
    break;
  }
  await new Promise((r) => setTimeout(r, 2000));
}
