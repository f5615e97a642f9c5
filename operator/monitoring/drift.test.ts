// queryDrift against Prometheus answers recorded from a real Prometheus scraping a real model
// server (testdata/record.ts), replayed by a loopback HTTP server keyed by the query: a changed
// query finds no recording and fails here until the answers are recorded again.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriftAnswer, DriftCache, instantQuery, PrometheusError, queryDrift } from './drift.ts';
import { modelScope } from './rules.ts';

type Recording = Record<string, { status: number; body: unknown }>;
const recording = (name: string): Recording =>
  JSON.parse(readFileSync(new URL(`./testdata/${name}.json`, import.meta.url), 'utf8')) as Recording;
const RECORDINGS = ['drifting', 'stable', 'too-few-samples', 'no-samples', 'bad-query'].map(recording);

let replay: http.Server;
let url: string;
let silent: http.Server;
let silentURL: string;
let closedURL: string;

const listen = (server: http.Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

beforeAll(async () => {
  replay = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    const answer = RECORDINGS.find((r) => r[query])?.[query];
    res.writeHead(answer?.status ?? 404, { 'content-type': 'application/json' });
    res.end(answer ? JSON.stringify(answer.body) : `no recording of ${query}`);
  });
  url = await listen(replay);
  // Accepts connections and never answers: a Prometheus that hangs.
  silent = http.createServer(() => {});
  silentURL = await listen(silent);
  // A port that was just free: nothing listens there.
  const closed = http.createServer();
  closedURL = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(() => {
  replay.close();
  silent.closeAllConnections();
  silent.close();
});

const scope = modelScope('ml', 'tiny');

describe('queryDrift', () => {
  it('names the drifting features by PSI, with their pods, from a shifted window', async () => {
    // The recording is keyed by query text, and both states were recorded under the same queries:
    // serve only the drifting recording here.
    const answer = await withOnly('drifting', () => queryDrift({ url }, scope));
    expect(answer.state).toBe('drifting');
    const features = (answer as Extract<DriftAnswer, { state: 'drifting' }>).features;
    expect(features.map((f) => f.feature)).toEqual(['f0', 'f2']);
    expect(features[0]!.psi).toBeGreaterThan(features[1]!.psi);
    expect(features[1]!.psi).toBeGreaterThan(0.2);
    expect(features[0]!.pods).toEqual(['tiny-7d9f8-abcde']);
  });

  it.each([
    {
      name: 'says stable with the window size when enough in-distribution rows came',
      only: 'stable',
      want: { state: 'stable', samples: 600, minSamples: 200 },
    },
    {
      name: 'says unknown with TooFewSamples before the window holds minSamples rows',
      only: 'too-few-samples',
      want: {
        state: 'unknown',
        reason: 'TooFewSamples',
        message: 'the drift window holds 0 rows; drift is judged from 200 (spec.drift.minSamples)',
      },
    },
  ])('$name', async ({ only, want }) => {
    expect(await withOnly(only, () => queryDrift({ url }, scope))).toEqual(want);
  });

  it('says unknown with NoSamples for a model Prometheus does not scrape', async () => {
    const answer = await queryDrift({ url }, modelScope('ml', 'not-scraped'));
    expect(answer).toMatchObject({ state: 'unknown', reason: 'NoSamples' });
  });

  it.each([
    {
      name: 'says unknown with PrometheusUnreachable when nothing listens',
      client: () => ({ url: closedURL }),
      message: /Prometheus at http:\/\/127.0.0.1:\d+ is unreachable: .*ECONNREFUSED/,
    },
    {
      name: 'gives up after timeoutMs when Prometheus does not answer',
      client: () => ({ url: silentURL, timeoutMs: 200 }),
      message: /no answer within 200 ms/,
    },
  ])('$name', async ({ client, message }) => {
    const answer = await queryDrift(client(), scope);
    expect(answer).toMatchObject({ state: 'unknown', reason: 'PrometheusUnreachable' });
    expect((answer as { message: string }).message).toMatch(message);
  });
});

describe('instantQuery', () => {
  it("rejects with Prometheus's own words when it refuses a query", async () => {
    const err = await instantQuery({ url }, 'k2k_drift_feature_psi{').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect((err as Error).message).toMatch(/refused the query \(400 bad_data\).*parse error/);
  });

  it('rejects an answer that is not the JSON of the HTTP API', async () => {
    const err = await instantQuery({ url }, 'never recorded').catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/answered 404 without JSON: no recording of never recorded/);
  });
});

describe('DriftCache', () => {
  it('asks again only once the last answer is older than maxAgeMs, and forgets deleted models', async () => {
    let t = 0;
    let asked = 0;
    const cache = new DriftCache(
      async () => ({ state: 'stable', samples: ++asked, minSamples: 1 }),
      60_000,
      () => t,
    );
    const samples = async () => ((await cache.get('ml/a', scope)) as { samples: number }).samples;
    expect(await samples()).toBe(1);
    t = 59_999;
    expect(await samples()).toBe(1);
    t = 60_000;
    expect(await samples()).toBe(2);
    cache.forget('ml/a');
    expect(await samples()).toBe(3);
  });
});

/** Runs `fn` with only recording `name` served (stable and drifting answer the same queries). */
async function withOnly<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const all = RECORDINGS.splice(0, RECORDINGS.length);
  RECORDINGS.push(recording(name));
  try {
    return await fn();
  } finally {
    RECORDINGS.splice(0, RECORDINGS.length, ...all);
  }
}
