// The demo's drift step: sends held-out MNIST digits to a served model, either as they are or
// inverted (255 - x: dark digits on a bright background, a shifted distribution), enough of them
// to fill the model server's drift window; or prints the PromQL
// query the operator asks Prometheus (the K2KFeatureDrift rule) for one ModelDeployment.
//   npx tsx hack/demo-drift.ts send <base URL> <model name> <normal|inverted> [count]
//   npx tsx hack/demo-drift.ts stream <base URL> <model name> <normal|inverted>
//   npx tsx hack/demo-drift.ts query <namespace> <ModelDeployment>
// stream (npm run journey) sends one digit per request, about 20 a second, until it is stopped:
// a canary's share is counted in requests, and its analysis needs enough of them in each step.
import { featureDriftExpr, modelScope } from '../operator/monitoring/rules.ts';
import { heldOutDigits, infer } from './demo-digits.ts';

const BATCH = 100;
const usage = `usage: npx tsx hack/demo-drift.ts send <base URL> <model name> <normal|inverted> [count]
       npx tsx hack/demo-drift.ts stream <base URL> <model name> <normal|inverted>
       npx tsx hack/demo-drift.ts query <namespace> <ModelDeployment>`;

const shifted = (kind: string, count: number) =>
  heldOutDigits(count).map((d) => (kind === 'inverted' ? d.pixels.map((v) => 255 - v) : d.pixels));

const [command, ...args] = process.argv.slice(2);
if (command === 'query' && args.length === 2) {
  // The operator's Service for a ModelDeployment has its name, which the ServiceMonitor's targets carry.
  console.log(featureDriftExpr(modelScope(args[0]!, args[1]!)));
} else if (command === 'send' && (args[2] === 'normal' || args[2] === 'inverted')) {
  const [baseUrl, model, kind, countArg = '1000'] = args as [string, string, string, string?];
  const digits = shifted(kind, Math.max(1, Math.min(1000, Number(countArg))));
  for (let i = 0; i < digits.length; i += BATCH) await infer(baseUrl!, model!, digits.slice(i, i + BATCH));
  console.log(`sent ${digits.length} ${kind} held-out digits to ${baseUrl}/v2/models/${model}/infer`);
} else if (command === 'stream' && (args[2] === 'normal' || args[2] === 'inverted')) {
  const [baseUrl, model, kind] = args as [string, string, string];
  const digits = shifted(kind, 1000);
  for (let i = 0; ; i = (i + 1) % digits.length) {
    // A failed request is the canary analysis's business (it counts 5xx): the stream goes on.
    await infer(baseUrl, model, [digits[i]!], { exitOnFailure: false }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
} else {
  console.error(usage);
  process.exit(2);
}
