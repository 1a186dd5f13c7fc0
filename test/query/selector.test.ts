import assert from 'node:assert/strict';

import { ValidationError } from '../../src/model/names';
import { compileCost, MAX_COMPILED_REGEXES, regexEngineStats } from '../../src/query/regex';
import { matchesSelector, parseSelector, type Selector } from '../../src/query/selector';

/** The matchers without their compiled regexes, for comparing. */
function plain(sel: Selector): unknown {
  return { name: sel.name, matchers: sel.matchers.map(({ label, op, value }) => ({ label, op, value })) };
}

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseSelector(text), (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  }, text);
}

describe('selector', () => {
  describe('parseSelector', () => {
    it('reads a bare metric name', () => {
      assert.deepEqual(plain(parseSelector('gpu_busy_ratio')), { name: 'gpu_busy_ratio', matchers: [] });
      assert.deepEqual(plain(parseSelector('  ns:rule:rate5m ')), { name: 'ns:rule:rate5m', matchers: [] });
    });

    it('reads matchers alone', () => {
      assert.deepEqual(plain(parseSelector('{job="x"}')), { name: undefined, matchers: [{ label: 'job', op: '=', value: 'x' }] });
    });

    it('reads all four operators, whitespace and a trailing comma', () => {
      const sel = parseSelector(' name { a = "b" , c!="d",e=~"x.*",\n f !~ \'y|z\' , } ');
      assert.deepEqual(plain(sel), {
        name: 'name',
        matchers: [
          { label: 'a', op: '=', value: 'b' },
          { label: 'c', op: '!=', value: 'd' },
          { label: 'e', op: '=~', value: 'x.*' },
          { label: 'f', op: '!~', value: 'y|z' },
        ],
      });
    });

    it('decodes escapes in double, single and backtick quotes', () => {
      const sel = parseSelector(`{a="q\\"uo\\\\te\\n",b='it\\'s "fine"',c="\\x41\\u00e9\\U0001F600\\101\\t",d=\`raw\\n"'\`}`);
      assert.deepEqual(sel.matchers.map((m) => m.value), ['q"uo\\te\n', 'it\'s "fine"', 'Aé😀A\t', 'raw\\n"\'']);
    });

    it('accepts a __name__ matcher', () => {
      const sel = parseSelector('{__name__=~"gpu_.*",card="0"}');
      assert.equal(sel.name, undefined);
      assert.deepEqual(sel.matchers.map((m) => m.label), ['__name__', 'card']);
    });

    it('anchors regexes as Prometheus does and honours a leading (?i)', () => {
      const sel = parseSelector('{a=~"b|c", d=~"(?i)gpu"}');
      assert.equal(sel.matchers[0].re?.anchored, '^(?s:b|c)$');
      assert.equal(sel.matchers[0].re?.test('b'), true);
      assert.equal(sel.matchers[0].re?.test('bc'), false);
      assert.equal(sel.matchers[1].re?.test('GPU'), true);
      assert.equal(parseSelector('{a=~"x.y"}').matchers[0].re?.test('x\ny'), true, '. matches a line feed');
    });

    it('uses RE2 syntax and refuses what RE2 refuses, naming the pattern', () => {
      // Go/RE2 syntax that JavaScript lacks or spells differently.
      assert.equal(parseSelector('{a=~"\\\\pL+"}').matchers[0].re?.test('héllo'), true);
      assert.equal(parseSelector('{a=~"(?P<x>a)b"}').matchers[0].re?.test('ab'), true);
      assert.equal(parseSelector('{a=~"[[:digit:]]+"}').matchers[0].re?.test('42'), true);
      // Backreferences and lookaround are not RE2.
      rejects('{a=~"(a)\\\\1"}', /^invalid regex "\(a\)\\\\1" at position 5: invalid escape sequence/);
      rejects('{a=~"x(?=y)"}', /^invalid regex "x\(\?=y\)" at position 5: /);
    });

    it('matches a catastrophic-backtracking pattern in linear time', () => {
      // (a+)+b against a×40 followed by "!" takes minutes with a backtracking engine.
      const sel = parseSelector('up{l=~"(a+)+b"}');
      const started = process.hrtime.bigint();
      for (let n = 40; n <= 4000; n *= 10) assert.equal(matchesSelector(sel, 'up', { l: 'a'.repeat(n) + '!' }), false);
      assert.equal(matchesSelector(sel, 'up', { l: 'aaab' }), true);
      // Generous: linear-time matching takes microseconds; backtracking would not finish at all.
      assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000);
    });

    it('refuses patterns too expensive to compile, naming them, and keeps working', () => {
      rejects('{a=~"\\\\pL{30}"}', /^invalid regex "\\\\pL\{30\}" at position 5: too expensive to compile \(estimated size 4500, limit 600\)/);
      rejects('{a=~".{100}"}', /too expensive/);
      assert.equal(compileCost('(a|b){3}c'), 7);
      assert.equal(compileCost('[a-z]{100}'), 100);
      assert.equal(compileCost('(.{10}){10}'), 1000);
      assert.equal(parseSelector('{a=~"ok|fine"}').matchers[0].re?.test('fine'), true);
    });

    it('frees compiled programs: the fixed 16 MiB RE2 heap is never exhausted', () => {
      // Programs of ~25 KB each: about 650 fit the heap at once, so 1500 distinct ones prove that
      // evicted programs are freed (without freeing, the module aborts and every later compile fails).
      const before = regexEngineStats().resets;
      for (let i = 0; i < 1500; i++) {
        const words = Array.from({ length: 60 }, (_, j) => `w${i}_${j}`).join('|');
        assert.equal(matchesSelector(parseSelector(`{job=~"${words}"}`), '', { job: `w${i}_7` }), true);
      }
      assert.equal(regexEngineStats().resets, before);
      assert.ok(regexEngineStats().cached <= MAX_COMPILED_REGEXES);
    });

    it('rejects syntax errors with a position', () => {
      rejects('', /empty/);
      rejects('   ', /empty/);
      rejects('{}', /neither/);
      rejects('name{', /missing "}" at position 6/);
      rejects('name{a="b"', /missing "}" at position 11/);
      rejects('name{a="b" c="d"}', /expected "," or "}", found "c" at position 12/);
      rejects('name{a}', /expected one of =, !=, =~, !~, found "}" at position 7/);
      rejects('name{a==b}', /expected a quoted value, found "=" at position 8/);
      rejects('name{a=b}', /expected a quoted value/);
      rejects('name{a="b}', /unterminated string at position 8/);
      rejects('name{"a"="b"}', /expected a label name, found "\\"" at position 6/);
      rejects('name{1a="b"}', /expected a label name/);
      rejects('na-me', /unexpected "-" at position 3/);
      rejects('name{a="b"} x', /unexpected "x" at position 13/);
      rejects('name{a="\\q"}', /unknown escape sequence \\q at position 9/);
      rejects('name{a="\\x4"}', /bad \\x escape/);
      rejects('name{a="\\uD800"}', /not a valid code point/);
      rejects('name{a="line\nbreak"}', /line break/);
      rejects('{a=~"("}', /^invalid regex "\(" at position 5: missing \): \($/);
      rejects('{a=~"a)|(b"}', /invalid regex/);
      rejects('{a=~"x\\\\"}', /invalid regex/);
    });

    it('follows Prometheus rules on empty matchers and the metric name', () => {
      rejects('{a=""}', /does not match the empty string/);
      rejects('{a=~".*",b!="x"}', /does not match the empty string/);
      rejects('name{__name__="other"}', /given twice/);
      assert.doesNotThrow(() => parseSelector('{a="",b="x"}'));
      assert.doesNotThrow(() => parseSelector('name{a=""}'));
      assert.doesNotThrow(() => parseSelector('{a=~".+"}'));
    });

    it('limits the selector length', () => {
      rejects(`{a="${'x'.repeat(5000)}"}`, /limit/);
    });
  });

  describe('matchesSelector', () => {
    const labels = { job: 'agent', card: '0', path: 'a\nb' };

    it('compares the metric name', () => {
      assert.equal(matchesSelector(parseSelector('gpu'), 'gpu', {}), true);
      assert.equal(matchesSelector(parseSelector('gpu'), 'gpu_total', {}), false);
    });

    it('applies each operator', () => {
      const m = (s: string) => matchesSelector(parseSelector(s), 'gpu', labels);
      assert.equal(m('{job="agent"}'), true);
      assert.equal(m('{job="Agent"}'), false);
      assert.equal(m('gpu{job!="agent"}'), false);
      assert.equal(m('gpu{job!="x"}'), true);
      assert.equal(m('{job=~"ag.*"}'), true);
      assert.equal(m('{job=~"ag"}'), false, 'regex must match the whole value');
      assert.equal(m('{job=~"gen"}'), false);
      assert.equal(m('gpu{job!~"x|agent"}'), false);
      assert.equal(m('gpu{job!~"x|y"}'), true);
      assert.equal(m('{path=~"a.b"}'), true, '. matches a newline as in Prometheus');
      assert.equal(m('gpu{job="agent",card=~"[0-3]"}'), true);
      assert.equal(m('gpu{job="agent",card=~"[1-3]"}'), false);
    });

    it('treats missing labels as empty strings', () => {
      const m = (s: string) => matchesSelector(parseSelector(s), 'gpu', labels);
      assert.equal(m('gpu{missing=""}'), true);
      assert.equal(m('gpu{job=""}'), false);
      assert.equal(m('{job!=""}'), true);
      assert.equal(m('{missing!="",job="agent"}'), false);
      assert.equal(m('gpu{missing=~"x|"}'), true);
      assert.equal(m('{missing!~".+",job="agent"}'), true);
    });

    it('does not read labels from Object.prototype', () => {
      assert.equal(matchesSelector(parseSelector('gpu{constructor=""}'), 'gpu', {}), true);
      assert.equal(matchesSelector(parseSelector('{toString=~".+"}'), 'gpu', {}), false);
    });

    it('matches __name__ against the metric name', () => {
      assert.equal(matchesSelector(parseSelector('{__name__=~"gpu_.*"}'), 'gpu_busy', {}), true);
      assert.equal(matchesSelector(parseSelector('{__name__=~"gpu_.*"}'), 'cpu_busy', {}), false);
      assert.equal(matchesSelector(parseSelector('{__name__!="gpu",job="agent"}'), 'gpu', labels), false);
    });
  });
});
