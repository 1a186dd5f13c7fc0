import assert from 'node:assert/strict';
import { entry, entryHead, eventBytes, jsonNumber } from '../../src/stream/encode';
import { filterMatches, parseStreamQuery } from '../../src/stream/filter';
import { EventJournal } from '../../src/stream/journal';
import { wantsHtml } from '../../src/stream/negotiate';

describe('stream: pure parts', function () {
  it('jsonNumber: finite numbers as JSON numbers, NaN/±Inf as Prometheus strings', () => {
    assert.deepEqual([1, 0.5, -2, 1e21, -0, 5e-324].map(jsonNumber), ['1', '0.5', '-2', '1e+21', '0', '5e-324']);
    assert.deepEqual([NaN, Infinity, -Infinity].map(jsonNumber), ['"NaN"', '"+Inf"', '"-Inf"']);
  });

  it('an event is one id line and one data line of valid JSON, whatever the label values hold', () => {
    const nasty = { a: 'line\nbreak', b: 'cr\rhere', c: '"quoted" \\ </script>', d: '\u2028\u0000' };
    const buf = eventBytes(42, 42, 'delta', [entry(entryHead('m', nasty), NaN, 1.5)]);
    const text = buf.toString('utf8');
    assert.ok(text.endsWith('\n\n'));
    const lines = text.slice(0, -2).split(/\r\n|\r|\n/);
    assert.equal(lines.length, 2, JSON.stringify(text));
    assert.equal(lines[0], 'id: 42');
    const data = JSON.parse(lines[1].slice('data: '.length)) as { timestamp: number; kind: string; metrics: unknown[] };
    assert.deepEqual(data, { timestamp: 42, kind: 'delta', metrics: [{ name: 'm', labels: nasty, value: 'NaN', timestamp: 1.5 }] });
  });

  it('filters: names, prefixes, selectors, source; same filters share a key whatever the order', () => {
    const f = parseStreamQuery(new URLSearchParams('name=b&name=a_*&match={x="1"}'));
    const g = parseStreamQuery(new URLSearchParams('match={x="1"}&name=a_*&name=b'));
    assert.equal(f.key, g.key);
    assert.notEqual(f.key, parseStreamQuery(new URLSearchParams('name=b&name=a_*&match={x="1"}&delta=1')).key);
    const s = (name: string, labels: Record<string, string>, origin: 'custom' | 'system' = 'custom') => ({ name, labels, origin });
    assert.equal(filterMatches(f, s('b', { x: '1' })), true);
    assert.equal(filterMatches(f, s('a_z', { x: '1' })), true);
    assert.equal(filterMatches(f, s('a_z', { x: '2' })), false);
    assert.equal(filterMatches(f, s('c', { x: '1' })), false);
    const sys = parseStreamQuery(new URLSearchParams('source=system'));
    assert.equal(filterMatches(sys, s('c', {}, 'system')), true);
    assert.equal(filterMatches(sys, s('c', {}, 'custom')), false);
    assert.throws(() => parseStreamQuery(new URLSearchParams(Array.from({ length: 101 }, (_, i) => `name=n${i}`).join('&'))), /too many name filters/);
  });

  it('journal: finds recorded ids with their removal counts, forgets the oldest past its capacity', () => {
    const j = new EventJournal(4);
    for (let id = 10; id <= 15; id++) j.record(id, id * 2);
    assert.equal(j.size, 4);
    assert.equal(j.removalsAt(10), undefined);
    assert.equal(j.removalsAt(11), undefined);
    assert.equal(j.removalsAt(12), 24);
    assert.equal(j.removalsAt(15), 30);
    assert.equal(j.removalsAt(16), undefined);
    assert.equal(j.removalsAt(13.5), undefined);
  });

  it('negotiation: HTML only for browsers that do not also accept event streams', () => {
    assert.equal(wantsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
    for (const a of [undefined, '', '*/*', 'text/event-stream', 'text/html, text/event-stream', 'application/json']) assert.equal(wantsHtml(a), false, String(a));
  });
});
