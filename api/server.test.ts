import { describe, expect, it } from 'vitest';
import { decodeServerEnv, encodeServerEnv, SERVER_VARIABLES, serverEnvName } from './server.ts';

describe('the model server settings table', () => {
  it('names every variable K2K_ plus its setting path in SCREAMING_SNAKE_CASE', () => {
    expect(Object.fromEntries(SERVER_VARIABLES.map((v) => [v.setting, v.name]))).toEqual({
      modelUri: 'K2K_MODEL_URI',
      modelName: 'K2K_MODEL_NAME',
      track: 'K2K_TRACK',
      trafficFile: 'K2K_TRAFFIC_FILE',
      host: 'K2K_HOST',
      port: 'K2K_PORT',
      grpcPort: 'K2K_GRPC_PORT',
      'admin.host': 'K2K_ADMIN_HOST',
      'admin.port': 'K2K_ADMIN_PORT',
      headersTimeoutSeconds: 'K2K_HEADERS_TIMEOUT_SECONDS',
      requestTimeoutSeconds: 'K2K_REQUEST_TIMEOUT_SECONDS',
      idleTimeoutSeconds: 'K2K_IDLE_TIMEOUT_SECONDS',
      maxJsonDepth: 'K2K_MAX_JSON_DEPTH',
      maxJsonElements: 'K2K_MAX_JSON_ELEMENTS',
      maxRequestRows: 'K2K_MAX_REQUEST_ROWS',
      maxEventLoopDelayMs: 'K2K_MAX_EVENT_LOOP_DELAY_MS',
      backend: 'K2K_BACKEND',
      'batching.maxBatchSize': 'K2K_BATCHING_MAX_BATCH_SIZE',
      'batching.maxDelayMs': 'K2K_BATCHING_MAX_DELAY_MS',
      'batching.maxQueuedRows': 'K2K_BATCHING_MAX_QUEUED_ROWS',
      bodyLimitBytes: 'K2K_BODY_LIMIT_BYTES',
      pollIntervalSeconds: 'K2K_POLL_INTERVAL_SECONDS',
      loadAttempts: 'K2K_LOAD_ATTEMPTS',
      loadRetrySeconds: 'K2K_LOAD_RETRY_SECONDS',
      'drift.windowSize': 'K2K_DRIFT_WINDOW_SIZE',
      'drift.minSamples': 'K2K_DRIFT_MIN_SAMPLES',
      'drift.psiThreshold': 'K2K_DRIFT_PSI_THRESHOLD',
      'drift.ksPValueThreshold': 'K2K_DRIFT_KS_P_VALUE_THRESHOLD',
      shutdownDelaySeconds: 'K2K_SHUTDOWN_DELAY_SECONDS',
      shutdownTimeoutSeconds: 'K2K_SHUTDOWN_TIMEOUT_SECONDS',
      terminationLog: 'K2K_TERMINATION_LOG',
      logLevel: 'K2K_LOG_LEVEL',
    });
    expect(serverEnvName('drift.ksPValueThreshold')).toBe('K2K_DRIFT_KS_P_VALUE_THRESHOLD');
  });

  it.each([
    { name: 'writes nothing for no settings', settings: {}, env: [] },
    {
      name: 'writes the settings given, groups member by member, as strings',
      settings: { port: 8080, batching: { maxBatchSize: 8, maxDelayMs: 1.5 } },
      env: [
        { name: 'K2K_PORT', value: '8080' },
        { name: 'K2K_BATCHING_MAX_BATCH_SIZE', value: '8' },
        { name: 'K2K_BATCHING_MAX_DELAY_MS', value: '1.5' },
      ],
    },
  ])('$name', ({ settings, env }) => {
    expect(encodeServerEnv(settings)).toEqual(env);
  });

  it('reads back what it wrote, nested like the settings, ignoring unknown and empty variables', () => {
    const env = Object.fromEntries(
      encodeServerEnv({
        modelUri: 's3://m/x/',
        drift: { windowSize: 10, minSamples: 1, psiThreshold: 0.1, ksPValueThreshold: 0.2 },
      }).map((e) => [e.name, e.value]),
    );
    expect(decodeServerEnv({ ...env, K2K_UNKNOWN: '1', K2K_TRACK: '' })).toEqual({
      modelUri: 's3://m/x/',
      drift: { windowSize: '10', minSamples: '1', psiThreshold: '0.1', ksPValueThreshold: '0.2' },
    });
  });
});
