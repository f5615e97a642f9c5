import { describe, expect, it } from 'vitest';
import { batchSettings, ConfigError, flagToEnv, loadConfig } from './config.ts';

const uri = 's3://models/out/mnist/1764037200/';

describe('server configuration', () => {
  it('applies the documented defaults and derives the model name from a version URI', () => {
    const s = loadConfig({ K2K_MODEL_URI: uri });
    expect(s).toMatchObject({
      modelUri: uri,
      modelName: 'mnist',
      track: 'stable',
      port: 8080,
      backend: 'auto',
      batching: { maxBatchSize: 32, maxDelayMs: 0 },
      pollIntervalSeconds: 30,
      drift: { windowSize: 1000, minSamples: 200, psiThreshold: 0.2, ksPValueThreshold: 0.05 },
    });
  });

  it('defaults to the hardened limits: loopback admin listener, timeouts, bounded bodies and queue', () => {
    const s = loadConfig({ K2K_MODEL_URI: uri, K2K_BATCHING_MAX_BATCH_SIZE: '8' });
    expect(s).toMatchObject({
      admin: { host: '127.0.0.1', port: 8081 },
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      idleTimeoutSeconds: 120,
      maxJsonDepth: 32,
      maxJsonElements: 2_000_000,
      maxEventLoopDelayMs: 1000,
      loadAttempts: 3,
      loadRetrySeconds: 1,
      terminationLog: '/dev/termination-log',
    });
    expect(batchSettings(s)).toEqual({
      maxBatchSize: 8,
      maxDelayMs: 0,
      maxQueuedRows: 128,
      maxRequestRows: 8192,
    });
  });

  it('derives the model name from a model URI', () => {
    expect(loadConfig({ K2K_MODEL_URI: 'file:///data/out/fraud/' }).modelName).toBe('fraud');
  });

  it('lets flags override the environment', () => {
    const s = loadConfig({ K2K_MODEL_URI: uri, K2K_PORT: '9000' }, [
      '--port=9100',
      '--track',
      'canary',
      '--batching-max-batch-size=8',
    ]);
    expect([s.port, s.track, s.batching.maxBatchSize]).toEqual([9100, 'canary', 8]);
  });

  it('maps flag names to variables', () => {
    expect(flagToEnv('--drift-psi-threshold')).toBe('K2K_DRIFT_PSI_THRESHOLD');
  });

  it.each([
    ['a missing model URI', {}, [], 'K2K_MODEL_URI'],
    ['a non-numeric port', { K2K_MODEL_URI: uri, K2K_PORT: 'http' }, [], 'K2K_PORT="http"'],
    ['an unknown track', { K2K_MODEL_URI: uri, K2K_TRACK: 'beta' }, [], 'K2K_TRACK="beta"'],
    [
      'a zero batch size',
      { K2K_MODEL_URI: uri },
      ['--batching-max-batch-size=0'],
      'K2K_BATCHING_MAX_BATCH_SIZE="0"',
    ],
    ['an unknown flag', { K2K_MODEL_URI: uri }, ['--colour=blue'], '--colour'],
    [
      'a headers timeout longer than the request timeout',
      { K2K_MODEL_URI: uri, K2K_HEADERS_TIMEOUT_SECONDS: '60' },
      [],
      'K2K_HEADERS_TIMEOUT_SECONDS=60: must not exceed K2K_REQUEST_TIMEOUT_SECONDS=30',
    ],
    ['zero load attempts', { K2K_MODEL_URI: uri, K2K_LOAD_ATTEMPTS: '0' }, [], 'K2K_LOAD_ATTEMPTS="0"'],
  ])('rejects %s and names it', (_name, env, argv, mentions) => {
    expect(() => loadConfig(env, argv)).toThrow(ConfigError);
    expect(() => loadConfig(env, argv)).toThrow(mentions);
  });
});
