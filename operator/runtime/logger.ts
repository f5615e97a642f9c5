// Structured logs: one JSON object per line, {time, level, msg, ...fields}, so a log pipeline can
// index them without parsing prose.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (for example {controller, key}). */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  stream?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

const reserved = new Set(['time', 'level', 'msg']);
const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = severity[opts.level ?? 'info'];
  if (min === undefined)
    throw new Error(`log level ${JSON.stringify(opts.level)} is not one of debug, info, warn, error`);
  return new JsonLogger(min, opts.stream ?? process.stdout, opts.base ?? {});
}

class JsonLogger implements Logger {
  constructor(
    private readonly min: number,
    private readonly stream: NodeJS.WritableStream,
    private readonly base: Record<string, unknown>,
  ) {}

  debug(msg: string, fields?: Record<string, unknown>) {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>) {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>) {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>) {
    this.write('error', msg, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.min, this.stream, { ...this.base, ...fields });
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>) {
    if (severity[level] < this.min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    // A field can never overwrite time, level or msg: a log pipeline relies on them.
    for (const extra of [this.base, fields ?? {}]) {
      for (const [k, v] of Object.entries(extra)) if (!reserved.has(k)) entry[k] = v;
    }
    this.stream.write(`${serialize(entry)}\n`);
  }
}

function serialize(entry: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(entry, (_key, value: unknown) => {
    if (value instanceof Error) return errorFields(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      // A log line must never throw: cycles become a marker instead of a TypeError.
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  });
}

/** Errors' own properties are not enumerable, so JSON.stringify would print {}. */
function errorFields(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  for (const [k, v] of Object.entries(err)) out[k] = v;
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined) out.cause = err.cause;
  return out;
}
