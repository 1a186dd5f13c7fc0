import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createLogger, safeStringify, type LoggerOptions } from '../../src/log/logger';

const T = new Date('2026-01-02T03:04:05.678Z');

function capture(opts: Partial<LoggerOptions>): { lines: string[]; opts: LoggerOptions } {
  const lines: string[] = [];
  return { lines, opts: { level: 'info', format: 'json', service: 'svc', version: '1.2.3', now: () => T, write: (l) => lines.push(l), ...opts } };
}

describe('logger', () => {
  it('writes one JSON object per line, keys sorted, with service, version, level, message and time', () => {
    const c = capture({});
    const log = createLogger(c.opts);
    log.info('started', { port: 8080, nested: { b: 1, a: [1, 2] } });
    log.warn('plain');
    assert.deepEqual(c.lines, [
      '{"level":"info","message":"started","nested":{"a":[1,2],"b":1},"port":8080,"service":"svc","timestamp":"2026-01-02T03:04:05.678Z","version":"1.2.3"}\n',
      '{"level":"warn","message":"plain","service":"svc","timestamp":"2026-01-02T03:04:05.678Z","version":"1.2.3"}\n',
    ]);
  });

  it('drops lines below its level; warning and critical are warn and error; silent drops all', () => {
    for (const [level, expect] of [['debug', 4], ['info', 3], ['warning', 2], ['warn', 2], ['error', 1], ['critical', 1], ['bogus', 3]] as const) {
      const c = capture({ level });
      const log = createLogger(c.opts);
      log.debug('d'); log.info('i'); log.warn('w'); log.error('e');
      assert.equal(c.lines.length, expect, level);
    }
    const s = capture({ level: 'debug', silent: true });
    createLogger(s.opts).error('e');
    assert.equal(s.lines.length, 0);
  });

  it('child loggers add fields; the call\'s fields win; level and message cannot be overridden; a message field is appended', () => {
    const c = capture({ level: 'debug' });
    const log = createLogger(c.opts);
    log.child({ sink: 'rw' }).child({ n: 1 }).log('warn', 'failing', { sink: 'other', level: 'debug' });
    log.info('reloaded', { message: 'from disk' });
    log.debug('with time', { timestamp: 'given' });
    const [a, b, d] = c.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(a, { level: 'warn', message: 'failing', n: 1, service: 'svc', sink: 'other', timestamp: T.toISOString(), version: '1.2.3' });
    assert.equal(b.message, 'reloaded from disk');
    assert.equal(d.timestamp, 'given');
  });

  it('never throws on what a call may be handed: bigint, cycles, non-finite numbers, dates, undefined', () => {
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    for (const format of ['json', 'text'] as const) {
      const c = capture({ format });
      createLogger(c.opts).error('odd', { n: 10n, cyc, inf: Infinity, d: new Date(0), u: undefined, e: new Error('x') });
      assert.equal(c.lines.length, 1);
      const fields = JSON.parse(format === 'json' ? c.lines[0] : c.lines[0].slice(c.lines[0].indexOf('{'))) as Record<string, unknown>;
      assert.equal(fields.n, '10');
      assert.deepEqual(fields.cyc, { a: 1, self: '[Circular]' });
      assert.equal(fields.inf, null);
      assert.equal(fields.d, '1970-01-01T00:00:00.000Z');
      assert.equal('u' in fields, false);
      assert.deepEqual(fields.e, {});
    }
    // A repeated object that is not a cycle is written in full both times.
    const shared = { x: 1 };
    assert.equal(safeStringify({ a: shared, b: shared }, true), '{"a":{"x":1},"b":{"x":1}}');
  });

  it('text format: time, level, message and the other fields (not service and version) as JSON', () => {
    const c = capture({ format: 'text' });
    const log = createLogger(c.opts);
    log.info('started', { port: 1 });
    log.child({ sink: 'rw' }).warn('plain');
    log.error('bare');
    assert.deepEqual(c.lines, [
      '2026-01-02T03:04:05.678Z info started {"port":1}\n',
      '2026-01-02T03:04:05.678Z warn plain {"sink":"rw"}\n',
      '2026-01-02T03:04:05.678Z error bare\n',
    ]);
  });

  it('writes to stdout by default, a whole line per call', () => {
    const mod = path.resolve(__dirname, '../../src/log/logger.js');
    const script = `const { createLogger } = require(${JSON.stringify(mod)}); const l = createLogger({ level: 'info', format: 'json', service: 's', version: 'v' }); l.info('one', { a: 1 }); l.error('two');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.deepEqual(lines.slice(0, 2).map((l) => { const o = JSON.parse(l) as Record<string, unknown>; delete o.timestamp; return o; }), [
      { a: 1, level: 'info', message: 'one', service: 's', version: 'v' },
      { level: 'error', message: 'two', service: 's', version: 'v' },
    ]);
  });
});
