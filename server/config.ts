// The server's configuration: the settings of api/server.ts, each from its environment variable
// or a command-line flag of the same name (K2K_BATCHING_MAX_BATCH_SIZE ⇔
// --batching-max-batch-size=N; flags win). Errors name the variable and the bad value.
import { Value } from 'typebox/value';
import {
  decodeServerEnv,
  SERVER_VARIABLES,
  type ServerSetting,
  ServerSettings,
  serverEnvName,
} from '../api/server.ts';
import { classifyModelURI } from '../lib/artifact/index.ts';
import type { BatchSettings } from './batcher.ts';

/** The settings of api/server.ts as the server runs with them: the model name resolved. */
export type LoadedSettings = ServerSettings & { modelName: string };

/** Rows that may wait per row of a batch when batching.maxQueuedRows is unset. */
const QUEUED_ROWS_PER_BATCH_ROW = 16;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const NAMES = new Set(SERVER_VARIABLES.map((v) => v.name));

/** --batching-max-batch-size → K2K_BATCHING_MAX_BATCH_SIZE */
export function flagToEnv(flag: string): string {
  return `K2K_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Merges env and flags (flags win), validates, and derives the settings. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = [],
): LoadedSettings {
  const given: Record<string, string> = {};
  for (const name of NAMES) {
    const v = env[name];
    if (v !== undefined && v !== '') given[name] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument "${arg}"; flags look like --model-uri=s3://…`);
    const eq = arg.indexOf('=');
    const name = flagToEnv(eq < 0 ? arg : arg.slice(0, eq));
    if (!NAMES.has(name)) throw new ConfigError(`unknown flag ${arg.split('=')[0]} (no ${name})`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`flag ${arg} needs a value`);
    given[name] = value;
  }
  const settings = Value.Default(ServerSettings, Value.Convert(ServerSettings, decodeServerEnv(given)));
  const errors = [...Value.Errors(ServerSettings, settings)];
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const path =
        e.instancePath.replace(/^\//, '').replace(/\//g, '.') ||
        (e.params as { requiredProperties?: string[] }).requiredProperties?.[0] ||
        '';
      const name = path ? serverEnvName(path as ServerSetting) : '';
      const shown = name in given ? `=${JSON.stringify(given[name])}` : ' (unset)';
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
      const message = e.keyword === 'required' ? 'is required' : e.message;
      return `${name}${shown}: ${message}${allowed ? ` (${allowed.join(', ')})` : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${[...new Set(lines)].join('\n  ')}`);
  }
  const s = settings as ServerSettings;
  if (s.headersTimeoutSeconds > s.requestTimeoutSeconds) {
    throw new ConfigError(
      `invalid configuration:\n  ${serverEnvName('headersTimeoutSeconds')}=${s.headersTimeoutSeconds}: must not exceed ${serverEnvName('requestTimeoutSeconds')}=${s.requestTimeoutSeconds}`,
    );
  }
  return { ...s, modelName: s.modelName ?? classifyModelURI(s.modelUri).model };
}

/** What the batcher enforces: the batching group, its queue bound resolved, and the row limit. */
export function batchSettings(settings: LoadedSettings): BatchSettings {
  const { batching } = settings;
  return {
    ...batching,
    maxQueuedRows: batching.maxQueuedRows ?? QUEUED_ROWS_PER_BATCH_ROW * batching.maxBatchSize,
    maxRequestRows: settings.maxRequestRows,
  };
}
