// Follows a TrainingJob's status for the demo: prints each change of its Ready condition and a
// progress bar while it trains, and returns when it finished or cannot make progress here.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { TrainingJob } from '../api/index.ts';
import { watchFrame } from './demo-status.ts';

const [namespace = 'default', name = 'mnist-mlp'] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromDefault();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;

let last = '';
let pendingSince: number | undefined;
const deadline = started + Number(process.env.K2K_DEMO_TIMEOUT_SECONDS ?? 1800) * 1000;
for (;;) {
  if (Date.now() > deadline) {
    console.log(`\nGave up waiting after ${elapsed().trim()}; the status above says where it stands.`);
    process.exitCode = 1;
    break;
  }
  const tj = (await custom.getNamespacedCustomObject({
    group: 'k2k.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'trainingjobs',
    name,
  })) as TrainingJob;
  const ready = tj.status?.conditions?.find((c) => c.type === 'Ready');
  const line = watchFrame(tj);
  if (line !== last) {
    console.log(`${elapsed()}  ${line}`);
    last = line;
  }
  const phase = tj.status?.phase;
  if (phase === 'Succeeded') {
    console.log(
      `\nTrained. Artifact: ${tj.status?.artifact?.uri} (manifest sha256 ${tj.status?.artifact?.manifestSha256 ?? '?'})`,
    );
    // The final metrics follow under "What was made", rounded and read back from the verified
    // artifact; status.metrics holds the same numbers at full precision.
    break;
  }
  if (phase === 'Failed' || phase === 'Stopped') {
    process.exitCode = 1;
    break;
  }
  if (phase === 'Pending' && ready?.reason !== 'JobCreated') {
    pendingSince ??= Date.now();
    const nodes = await core.listNode();
    if (nodes.items.length === 0 && Date.now() - pendingSince > 5000) {
      console.log(
        '\nThis cluster has a control plane but no node that runs pods yet, so the trainer pod stays Pending.' +
          '\nThe operator created the trainer Job and its GPU-requesting pod, and the status above says why it waits.',
      );
      break;
    }
  } else pendingSince = undefined;
  await new Promise((r) => setTimeout(r, 1000));
}
