// Held-out MNIST digits for the demo's requests: one per class in turn, from the last 20% of each
// class (hack/demo-storage.ts's test split, which the model never trained on), raw pixels 0..255.
import { createRequire } from 'node:module';

export const DIGIT_SIZE = 28 * 28;

export function heldOutDigits(count: number): Array<{ label: number; pixels: number[] }> {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { raw: number[] }>;
  return Array.from({ length: count }, (_, i) => {
    const label = i % 10;
    const raw = mnist[label]!.raw;
    const n = raw.length / DIGIT_SIZE - 1 - Math.floor(i / 10);
    return { label, pixels: raw.slice(n * DIGIT_SIZE, (n + 1) * DIGIT_SIZE).map((v) => Math.round(v * 255)) };
  });
}

/** POSTs digits to a served model (Open Inference Protocol v2); on failure exits the demo with the answer, or throws (exitOnFailure: false). */
export async function infer(
  baseUrl: string,
  model: string,
  digits: number[][],
  { exitOnFailure = true } = {},
): Promise<{ model_version?: string; outputs: Array<{ data: number[] }> }> {
  const response = await fetch(`${baseUrl}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'input', shape: [digits.length, 28, 28, 1], datatype: 'FP32', data: digits.flat() }],
    }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok && !exitOnFailure) throw new Error(`HTTP ${response.status}`);
  if (!response.ok) {
    console.error(
      `POST ${baseUrl}/v2/models/${model}/infer answered ${response.status}: ${await response.text()}`,
    );
    process.exit(1);
  }
  return (await response.json()) as { model_version?: string; outputs: Array<{ data: number[] }> };
}
