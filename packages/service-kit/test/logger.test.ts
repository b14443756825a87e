import { describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { REDACTED, REDACT_PATHS, createLogger, serializeError } from '../src/index.ts';
import { BatchedDestination, plainLineWriterOf } from '../src/logger.ts';
import { LogCapture } from './support/log-capture.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/batched-logging.ts', import.meta.url));

/** An object holding `value` at the redaction path `path` (a.b["c-d"] notation). */
function objectAt(path: string, value: string): Record<string, unknown> {
  const keys = [...path.matchAll(/\["([^"]+)"\]|([^.[\]]+)/g)].map((m) => (m[1] ?? m[2]) as string);
  const root: Record<string, unknown> = {};
  let node = root;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) node[key] = value;
    else node = (node[key] = {}) as Record<string, unknown>;
  });
  return root;
}

describe('createLogger', () => {
  test('JSON lines with level names, ISO time and the service', () => {
    const capture = new LogCapture();
    const logger = createLogger({ service: 'api', level: 'info', destination: capture });
    logger.info({ n: 1 }, 'hello');
    logger.debug('not at info');
    expect(capture.lines).toHaveLength(1);
    const line = capture.entries()[0]!;
    expect(line).toEqual({
      level: 'info',
      time: expect.any(String),
      service: 'api',
      n: 1,
      msg: 'hello',
    });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(Math.abs(Date.parse(line.time as string) - Date.now())).toBeLessThan(5000);
  });

  test.each(REDACT_PATHS)('%s is redacted', (path) => {
    const capture = new LogCapture();
    const logger = createLogger({ service: 'api', level: 'info', destination: capture });
    const secret = `s3cr3t-${path.length}-value`;
    logger.info(objectAt(path, secret), 'careless');
    expect(capture.text).not.toContain(secret);
    expect(capture.text).toContain(REDACTED);
  });

  test('errors are logged by allowlist: type, message and stack with causes, code; nothing else', () => {
    // What ioredis throws: the refused command with its arguments (a session, a token cache).
    const redis = Object.assign(new Error('OOM command not allowed'), {
      code: 'ERR',
      command: { name: 'set', args: ['sess:1', '{"accessToken":"at-123"}'] },
    });
    const wrapped = new Error('session not saved', { cause: redis });
    const capture = new LogCapture();
    createLogger({ service: 'client', level: 'info', destination: capture }).error(
      { err: wrapped },
      'failed',
    );
    const err = capture.entries()[0]!.err as Record<string, unknown>;
    expect(Object.keys(err).sort()).toEqual(['message', 'stack', 'type']);
    expect(err.message).toBe('session not saved: OOM command not allowed');
    expect(err.stack).toContain('caused by: Error: OOM command not allowed');
    expect(capture.text).not.toContain('at-123');
    expect(serializeError(redis)).toEqual({
      type: 'Error',
      message: 'OOM command not allowed',
      stack: expect.any(String),
      code: 'ERR',
    });
    expect(serializeError('not an error')).toBe('not an error');
  });

  test('the plain line writer writes exactly what pino writes for the same fields', () => {
    const viaPino = new LogCapture();
    const direct = new LogCapture();
    const a = createLogger({ service: 'api', level: 'info', destination: viaPino });
    const b = createLogger({ service: 'api', level: 'info', destination: direct });
    const fields = {
      requestId: 'r-1',
      method: 'GET',
      path: '/a "quoted" \\ path\u0001',
      route: 'unmatched',
      status: 404,
      durationMs: 0.07,
      ok: false,
      absent: undefined,
    };
    a.info(fields, 'request');
    expect(plainLineWriterOf(b)?.('info', fields, 'request')).toBe(true);
    expect(plainLineWriterOf(b)?.('debug', fields, 'request')).toBe(false); // level disabled
    // Same line apart from the time, which may have moved on by a millisecond.
    const strip = (l: string) => l.replace(/"time":"[^"]+"/, '"time":""');
    expect(direct.lines.map(strip)).toEqual(viaPino.lines.map(strip));
    // Children carry other bindings: they get no plain writer.
    expect(plainLineWriterOf(a.child({ requestId: 'x' }))).toBeUndefined();
  });
});

describe('BatchedDestination', () => {
  /** A logger writing to a file through a BatchedDestination; text() flushes and reads it. */
  function fileLogger(maxPending?: number) {
    const dir = mkdtempSync(join(tmpdir(), 'batched-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'w');
    const destination = new BatchedDestination(fd, { maxPending, maxDelayMs: 60_000 });
    const logger = createLogger({ service: 'api', level: 'info', destination });
    return {
      logger,
      destination,
      text: () => readFileSync(file, 'utf8'),
      /** The lines written so far, parsed. */
      entries: <T>() =>
        readFileSync(file, 'utf8')
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as T),
      done: () => {
        closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  test('plain lines (formatted at the flush) and pino lines come out in the order written', () => {
    const f = fileLogger();
    try {
      const plain = plainLineWriterOf(f.logger)!;
      plain('info', { n: 1, path: '/é/日本/😀' }, 'request');
      f.logger.warn({ n: 2 }, 'a pino line between');
      plain('info', { n: 3 }, 'request');
      expect(f.text()).toBe(''); // nothing written before the flush (delay 60 s here)
      f.destination.flushSync();
      const entries = f.entries<{ n: number; msg: string; path?: string; level: string }>();
      expect(entries.map((e) => [e.n, e.level, e.msg])).toEqual([
        [1, 'info', 'request'],
        [2, 'warn', 'a pino line between'],
        [3, 'info', 'request'],
      ]);
      expect(entries[0]!.path).toBe('/é/日本/😀');
    } finally {
      f.done();
    }
  });

  test('a batch larger than the buffer, and a line larger than the buffer, are written whole', () => {
    const f = fileLogger(1024);
    try {
      const plain = plainLineWriterOf(f.logger)!;
      for (let i = 0; i < 200; i++) plain('info', { i, text: 'ü'.repeat(i) }, 'request');
      f.logger.info({ big: 'x'.repeat(5000) + '€' }, 'big line');
      f.destination.flushSync();
      const entries = f.entries<{ i?: number; text?: string; big?: string }>();
      expect(entries).toHaveLength(201);
      entries.slice(0, 200).forEach((e, i) => {
        expect(e.i).toBe(i);
        expect(e.text).toBe('ü'.repeat(i));
      });
      expect(entries[200]!.big).toBe('x'.repeat(5000) + '€');
    } finally {
      f.done();
    }
  });

  test('lines are written once maxPending bytes are queued, without waiting for the delay', () => {
    const f = fileLogger(4096);
    try {
      const plain = plainLineWriterOf(f.logger)!;
      for (let i = 0; i < 40; i++) plain('info', { i }, 'request');
      expect(f.text().split('\n').length).toBeGreaterThan(10);
    } finally {
      f.done();
    }
  });
});

describe('stdout destination (batched)', () => {
  async function run(how: string) {
    const child = spawn(process.execPath, [FIXTURE, how], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return {
      code,
      lines: out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string }),
    };
  }

  test.each([
    ['process.exit()', 'exit', 3],
    ['an uncaught exception', 'throw', 1],
  ])('pending lines are written when the process ends by %s', async (_name, how, code) => {
    const result = await run(how);
    expect(result.code).toBe(code);
    expect(result.lines.map((l) => l.msg)).toEqual(['before the end']);
  });

  test('lines come out while the process keeps running, and do not keep it alive', async () => {
    const child = spawn(process.execPath, [FIXTURE, 'idle'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [first] = (await once(child.stdout, 'data')) as [Buffer];
    // Only the first line, while the process still runs (it logs again 1.5 s later, then ends).
    expect(child.exitCode).toBeNull();
    expect(
      first
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).msg),
    ).toEqual(['before the end']);
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

test('pino level names are what LOG_LEVEL accepts', () => {
  expect(Object.keys(pino.levels.values).sort()).toEqual(
    ['debug', 'error', 'fatal', 'info', 'trace', 'warn'].sort(),
  );
});
