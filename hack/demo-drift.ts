// The demo's drift step: sends held-out MNIST digits to a served model, either as they are or
// inverted (255 - x: dark digits on a bright background, a shifted distribution), enough of them
// to fill the model server's drift window; or prints the PromQL
// query the operator asks Prometheus (the K2KFeatureDrift rule) for one ModelDeployment.
//   npx tsx hack/demo-drift.ts send <base URL> <model name> <normal|inverted> [count]
//   npx tsx hack/demo-drift.ts query <namespace> <ModelDeployment>
import { featureDriftExpr, modelScope } from '../operator/monitoring/rules.ts';
import { heldOutDigits, infer } from './demo-digits.ts';

const BATCH = 100;
const usage = `usage: npx tsx hack/demo-drift.ts send <base URL> <model name> <normal|inverted> [count]
       npx tsx hack/demo-drift.ts query <namespace> <ModelDeployment>`;

const [command, ...args] = process.argv.slice(2);
if (command === 'query' && args.length === 2) {
  // The operator's Service for a ModelDeployment has its name, which the ServiceMonitor's targets carry.
  console.log(featureDriftExpr(modelScope(args[0]!, args[1]!)));
} else if (command === 'send' && (args[2] === 'normal' || args[2] === 'inverted')) {
  const [baseUrl, model, kind, countArg = '1000'] = args as [string, string, string, string?];
  const digits = heldOutDigits(Math.max(1, Math.min(1000, Number(countArg)))).map((d) =>
    kind === 'inverted' ? d.pixels.map((v) => 255 - v) : d.pixels,
  );
  for (let i = 0; i < digits.length; i += BATCH) await infer(baseUrl!, model!, digits.slice(i, i + BATCH));
  console.log(`sent ${digits.length} ${kind} held-out digits to ${baseUrl}/v2/models/${model}/infer`);
} else {
  console.error(usage);
  process.exit(2);
}
