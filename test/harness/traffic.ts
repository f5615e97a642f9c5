// The traffic that fills every dashboard panel of a model server started by model-server.ts:
// predictions over both protocols from concurrent callers, callers' mistakes (4xx), and inputs
// from the training distribution or a shifted one.
import { TABULAR_MODEL, tabularRows } from './model-server.ts';

/** Moves f0 by 4 and f3 by 2 of their standard deviations: clear drift on two of four features. */
export const SHIFT = [4, 0, 0, 40];

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Sends predictions to `url` for `seconds` from `concurrency` callers, alternating TF Serving and
 * v2, every tenth request a malformed one (400); `shift` moves the inputs off the training data.
 */
export async function sendTraffic(
  url: string,
  opts: { seconds: number; shift?: number[]; concurrency?: number; seed?: number },
): Promise<{ requests: number; serverErrors: number }> {
  const deadline = Date.now() + opts.seconds * 1000;
  let requests = 0;
  let serverErrors = 0;
  const caller = async (id: number) => {
    for (let i = 0; Date.now() < deadline; i++, requests++) {
      const rows = tabularRows(8, (opts.seed ?? 1) * 100_003 + id * 10_007 + i, opts.shift);
      let res: Response;
      if (i % 10 === 9) res = await post(`${url}/v1/models/${TABULAR_MODEL}:predict`, { instances: [[1]] });
      else if (i % 2 === 0)
        res = await post(`${url}/v1/models/${TABULAR_MODEL}:predict`, { instances: rows });
      else
        res = await post(`${url}/v2/models/${TABULAR_MODEL}/infer`, {
          inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP64', data: rows.flat() }],
        });
      await res.arrayBuffer();
      if (res.status >= 500) serverErrors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, (_, id) => caller(id)));
  return { requests, serverErrors };
}
