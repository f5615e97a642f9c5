import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger, type LoggerOptions } from './logger.ts';

function capture(opts: LoggerOptions = {}): { log: Logger; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return {
    log: createLogger({ ...opts, stream }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  const cases: Array<{ name: string; opts?: LoggerOptions; write: (log: Logger) => void; want: unknown[] }> =
    [
      {
        name: 'writes one JSON object per line with level, msg and fields',
        write: (log) => {
          log.info('hello', { a: 1 });
          log.warn('careful');
        },
        want: [
          { level: 'info', msg: 'hello', a: 1 },
          { level: 'warn', msg: 'careful' },
        ],
      },
      {
        name: 'drops lines below the configured level',
        opts: { level: 'warn' },
        write: (log) => {
          log.debug('d');
          log.info('i');
          log.warn('w');
          log.error('e');
        },
        want: [
          { level: 'warn', msg: 'w' },
          { level: 'error', msg: 'e' },
        ],
      },
      {
        name: 'drops debug lines by default',
        write: (log) => log.debug('quiet'),
        want: [],
      },
      {
        name: 'adds base fields and child fields to every line, the innermost winning',
        opts: { base: { app: 'k2k', key: 'base' } },
        write: (log) =>
          log.child({ controller: 'c', key: 'ns/a' }).child({ attempt: 2 }).info('x', { extra: true }),
        want: [
          { app: 'k2k', controller: 'c', key: 'ns/a', attempt: 2, extra: true, level: 'info', msg: 'x' },
        ],
      },
      {
        name: 'never lets a field overwrite level or msg',
        write: (log) => log.error('real', { level: 'debug', msg: 'fake' }),
        want: [{ level: 'error', msg: 'real' }],
      },
      {
        name: 'prints an error with its name, message and own properties',
        write: (log) => log.error('failed', { err: Object.assign(new RangeError('bad'), { code: 'E_BAD' }) }),
        want: [
          {
            msg: 'failed',
            err: expect.objectContaining({ name: 'RangeError', message: 'bad', code: 'E_BAD' }),
          },
        ],
      },
      {
        name: 'survives circular fields and bigints',
        write: (log) => {
          const loop: Record<string, unknown> = { n: 1n };
          loop.self = loop;
          log.info('odd', { loop });
        },
        want: [{ msg: 'odd', loop: { n: '1', self: '[Circular]' } }],
      },
    ];

  for (const c of cases) {
    it(c.name, () => {
      const { log, lines } = capture(c.opts);
      c.write(log);
      const got = lines();
      expect(got).toHaveLength(c.want.length);
      got.forEach((line, i) => {
        expect(line).toMatchObject(c.want[i] as object);
        expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
      });
    });
  }

  it('rejects an unknown level with a message naming it', () => {
    expect(() => createLogger({ level: 'loud' as never })).toThrow(/"loud"/);
  });
});
