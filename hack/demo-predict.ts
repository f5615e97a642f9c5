// The demo's last step: sends held-out MNIST digits (the test split hack/demo-storage.ts made, which
// the model never trained on) to a served model over Open Inference Protocol v2, draws the first
// digit and prints what the model answered for each.
//   npx tsx hack/demo-predict.ts <base URL> <model name> [count]
import { heldOutDigits, infer } from './demo-digits.ts';

const [baseUrl, model, countArg = '10'] = process.argv.slice(2);
if (!baseUrl || !model) {
  console.error('usage: npx tsx hack/demo-predict.ts <base URL> <model name> [count]');
  process.exit(2);
}
const count = Math.max(1, Math.min(100, Number(countArg)));
const samples = heldOutDigits(count);

const shades = ' .:-=+*#%@';
const draw = (pixels: number[]) =>
  Array.from({ length: 14 }, (_, r) =>
    Array.from({ length: 28 }, (_, c) => {
      const v = Math.max(pixels[2 * r * 28 + c]!, pixels[(2 * r + 1) * 28 + c]!);
      return shades[Math.min(shades.length - 1, Math.floor((v / 256) * shades.length))];
    }).join(''),
  ).join('\n');

const body = await infer(
  baseUrl,
  model,
  samples.map((s) => s.pixels),
);
const probabilities = body.outputs[0]!.data;

console.log(
  `POST ${baseUrl}/v2/models/${model}/infer  (${count} held-out digits, version ${body.model_version})\n`,
);
console.log(draw(samples[0]!.pixels));
let right = 0;
for (const [i, s] of samples.entries()) {
  const p = probabilities.slice(i * 10, i * 10 + 10);
  const predicted = p.indexOf(Math.max(...p));
  if (predicted === s.label) right++;
  console.log(
    `  digit ${i + 1}: true ${s.label}  predicted ${predicted}  (p=${p[predicted]!.toFixed(3)})${predicted === s.label ? '' : '  ✗'}`,
  );
}
console.log(`\n${right}/${count} right`);
