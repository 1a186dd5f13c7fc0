import assert from 'node:assert/strict';

import { parsePrometheusText, type ParsedFamily } from '../../../src/formats/prometheus/parse';

function only(text: string): ParsedFamily {
  const r = parsePrometheusText(text);
  assert.deepEqual(r.errors, []);
  assert.equal(r.families.length, 1, JSON.stringify(r.families));
  return r.families[0];
}

describe('prometheus parse', () => {
  it('reads metadata and samples', () => {
    const r = parsePrometheusText([
      '# HELP cpu_usage_idle Telegraf collected metric',
      '# TYPE cpu_usage_idle gauge',
      'cpu_usage_idle{cpu="cpu0",host="node-1"} 97.5',
      'cpu_usage_idle{cpu="cpu1",host="node-1"} 96',
      '# HELP mem_used_bytes Used memory',
      '# TYPE mem_used_bytes gauge',
      '# UNIT mem_used_bytes bytes',
      'mem_used_bytes 1.5e9',
      '',
    ].join('\n'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families, [
      {
        name: 'cpu_usage_idle', type: 'gauge', help: 'Telegraf collected metric',
        samples: [
          { name: 'cpu_usage_idle', labels: { cpu: 'cpu0', host: 'node-1' }, value: 97.5 },
          { name: 'cpu_usage_idle', labels: { cpu: 'cpu1', host: 'node-1' }, value: 96 },
        ],
      },
      { name: 'mem_used_bytes', type: 'gauge', help: 'Used memory', unit: 'bytes', samples: [{ name: 'mem_used_bytes', labels: {}, value: 1.5e9 }] },
    ]);
  });

  it('reads Telegraf prometheus_client output', () => {
    const r = parsePrometheusText([
      '# HELP diskio_reads Telegraf collected metric',
      '# TYPE diskio_reads counter',
      'diskio_reads{host="node-1",name="nvme0n1"} 1.4233e+06',
      '# HELP mem_available Telegraf collected metric',
      '# TYPE mem_available gauge',
      'mem_available{host="node-1"} 1.3050523648e+10',
      '# HELP intel_gpu_busy_percent Telegraf collected metric',
      '# TYPE intel_gpu_busy_percent untyped',
      'intel_gpu_busy_percent{card="card0",engine="render/3d/0",host="node-1"} 12.5',
      '',
    ].join('\n'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families.map((f) => [f.name, f.type, f.help, f.samples.map((x) => x.value)]), [
      ['diskio_reads', 'counter', 'Telegraf collected metric', [1423300]],
      ['mem_available', 'gauge', 'Telegraf collected metric', [13050523648]],
      ['intel_gpu_busy_percent', 'untyped', 'Telegraf collected metric', [12.5]],
    ]);
    assert.deepEqual(r.families[2].samples[0].labels, { card: 'card0', engine: 'render/3d/0', host: 'node-1' });
  });

  it('decodes every label value escape', () => {
    const f = only('m{a="x\\\\y",b="say \\"hi\\"",c="l1\\nl2",d="\\\\n",e="keep \\q"} 1\n');
    assert.deepEqual(f.samples[0].labels, { a: 'x\\y', b: 'say "hi"', c: 'l1\nl2', d: '\\n', e: 'keep \\q' });
  });

  it('keeps special characters inside label values', () => {
    const f = only('m{a="{x=\\"y\\"}, # not a comment",b="zürich ☃ 😀",c="a\tb"} 1\n');
    assert.deepEqual(f.samples[0].labels, { a: '{x="y"}, # not a comment', b: 'zürich ☃ 😀', c: 'a\tb' });
  });

  it('decodes HELP escapes', () => {
    const f = only('# HELP m Line one\\nback\\\\slash "quoted" \\"esc\\" \\t kept\n# TYPE m gauge\nm 1\n');
    assert.equal(f.help, 'Line one\nback\\slash "quoted" "esc" \\t kept');
  });

  it('reads NaN, infinities and other number spellings', () => {
    const f = only(['m{i="1"} NaN', 'm{i="2"} +Inf', 'm{i="3"} -Inf', 'm{i="4"} Inf', 'm{i="5"} -1.5e-3', 'm{i="6"} .5', 'm{i="7"} 1E+21', 'm{i="8"} nan', 'm{i="9"} -0'].join('\n'));
    const v = f.samples.map((s) => s.value);
    assert.ok(Number.isNaN(v[0]));
    assert.deepEqual(v.slice(1, 7), [Infinity, -Infinity, Infinity, -0.0015, 0.5, 1e21]);
    assert.ok(Number.isNaN(v[7]));
    assert.ok(Object.is(v[8], -0));
  });

  it('reads millisecond timestamps, negative ones too', () => {
    const f = only('m{a="1"} 1 1700000000123\nm{a="2"} 2 -1500\nm{a="3"} 3\n');
    assert.deepEqual(f.samples.map((s) => s.timestampMs), [1700000000123, -1500, undefined]);
    assert.ok(!('timestampMs' in f.samples[2]));
  });

  it('treats samples without TYPE as untyped families', () => {
    const r = parsePrometheusText('a 1\nb{x="y"} 2\na 3\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families.map((f) => [f.name, f.type, f.samples.length]), [['a', 'untyped', 2], ['b', 'untyped', 1]]);
  });

  it('attaches histogram and summary parts to their family', () => {
    const r = parsePrometheusText([
      '# TYPE lat histogram',
      'lat_bucket{le="0.1"} 1',
      'lat_bucket{le="+Inf"} 2',
      'lat_sum 0.3',
      'lat_count 2',
      'lat_created 1700000000',
      '# TYPE rpc summary',
      'rpc{quantile="0.9"} 0.2',
      'rpc_sum 4',
      'rpc_count 20',
      '# TYPE g gauge',
      'g_sum 1',
    ].join('\n'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families.map((f) => [f.name, f.type, f.samples.map((s) => s.name)]), [
      ['lat', 'histogram', ['lat_bucket', 'lat_bucket', 'lat_sum', 'lat_count', 'lat_created']],
      ['rpc', 'summary', ['rpc', 'rpc_sum', 'rpc_count']],
      ['g', 'gauge', []],
      ['g_sum', 'untyped', ['g_sum']],
    ]);
  });

  it('attaches _total and _created to a counter family declared without them', () => {
    const r = parsePrometheusText('# TYPE reqs counter\nreqs_total{a="b"} 5\nreqs_created{a="b"} 1\n# TYPE jobs_total counter\njobs_total 3\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.families.map((f) => [f.name, f.type, f.samples.map((s) => s.name)]), [
      ['reqs', 'counter', ['reqs_total', 'reqs_created']],
      ['jobs_total', 'counter', ['jobs_total']],
    ]);
  });

  it('skips comments and blank lines and accepts CRLF', () => {
    const f = only('# a comment\r\n\r\n   \r\n#another\r\n# HELP m  help text  \r\n# TYPE m counter\r\nm 1\r\n');
    assert.equal(f.help, 'help text');
    assert.equal(f.type, 'counter');
    assert.deepEqual(f.samples, [{ name: 'm', labels: {}, value: 1 }]);
  });

  it('accepts a trailing comma, an empty label set and blanks between tokens', () => {
    const f = only(['m{a="1",} 1', 'm{} 2', ' \tm \t{ a = "2" , b="3" , } \t 3 \t 4 \t', 'm{a="4"}5'].join('\n'));
    assert.deepEqual(f.samples, [
      { name: 'm', labels: { a: '1' }, value: 1 },
      { name: 'm', labels: {}, value: 2 },
      { name: 'm', labels: { a: '2', b: '3' }, value: 3, timestampMs: 4 },
      { name: 'm', labels: { a: '4' }, value: 5 },
    ]);
  });

  it('drops labels with empty values', () => {
    assert.deepEqual(only('m{a="",b="x"} 1').samples[0].labels, { b: 'x' });
  });

  it('strips a leading byte order mark', () => {
    assert.equal(only('\ufeff# TYPE m gauge\nm 1\n').type, 'gauge');
  });

  it('reports bad lines with their line number and keeps going', () => {
    const text = [
      'good 1',                      // 1
      'bad{a="x} 1',                 // 2 unterminated value
      'bad{a="x" b="y"} 1',          // 3 missing comma
      'bad{a="x"} 1 1.5',            // 4 float timestamp in 0.0.4
      'bad 1 2 3',                   // 5 extra token
      'bad{1a="x"} 1',               // 6 bad label name
      'bad{a="x",a="y"} 1',          // 7 duplicate label
      'bad{__name__="x"} 1',         // 8 reserved label
      'bad abc',                     // 9 not a number
      'bad',                         // 10 no value
      '9bad 1',                      // 11 bad metric name
      'bad{a="x"',                   // 12 unclosed label set
      '# TYPE good gauge',           // 13 TYPE after samples
      '# TYPE other frobnicator',    // 14 unknown type
      '# HELP',                      // 15 no name
      'bad-name 1',                  // 16 bad character
      'bad{a=x} 1',                  // 17 unquoted value
      'bad 0x10',                    // 18 hex is not accepted
      '# TYPE dup gauge',            // 19
      '# TYPE dup counter',          // 20 second TYPE
      '# HELP dup a',                // 21
      '# HELP dup b',                // 22 second HELP
      'also_good{x="1"} 2',          // 23
      'bad{a="x\\',                  // 24 backslash at end of line
      'bad{__proto__="x"} 1',        // 25 would corrupt the labels object
    ].join('\n');
    let r!: ReturnType<typeof parsePrometheusText>;
    assert.doesNotThrow(() => {
      r = parsePrometheusText(text);
    });
    assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22, 24, 25]);
    for (const e of r.errors) assert.ok(e.message.length > 10, e.message);
    assert.match(r.errors[0].message, /not closed/);
    assert.match(r.errors[5].message, /appears twice/);
    assert.match(r.errors[11].message, /after its samples/);
    const names = r.families.filter((f) => f.samples.length > 0).map((f) => f.name);
    assert.deepEqual(names, ['good', 'also_good']);
    assert.equal(r.families.find((f) => f.name === 'other'), undefined, 'a rejected line declares nothing');
    const dup = r.families.find((f) => f.name === 'dup');
    assert.deepEqual(dup, { name: 'dup', type: 'gauge', help: 'a', samples: [] });
  });

  it('never throws on garbage', () => {
    const junk = ['{', '}', '"', '\\', '#', '# TYPE', '# TYPE x', 'x{', 'x{a', 'x{a=', 'x{a="', '\u0000', '\uffff', 'x{,} 1', 'x 1 -', '# UNIT'];
    for (const a of junk) {
      for (const b of junk) {
        const r = parsePrometheusText(a + b + '\n' + b + ' ' + a);
        assert.ok(Array.isArray(r.errors));
      }
    }
  });

  it('handles label names that are Object.prototype members', () => {
    const f = only('m{constructor="a",toString="b",hasOwnProperty="c"} 1');
    assert.deepEqual(f.samples[0].labels, { constructor: 'a', toString: 'b', hasOwnProperty: 'c' });
  });

  describe('OpenMetrics input', () => {
    it('is detected by the final # EOF: seconds timestamps, unknown type, exemplars', () => {
      const r = parsePrometheusText([
        '# TYPE reqs counter',
        '# UNIT reqs_seconds seconds',
        '# HELP reqs Requests \\"quoted\\".',
        'reqs_total{a="b"} 5 1700000000.123 # {trace_id="abc"} 1 1700000000.1',
        'reqs_created{a="b"} 1600000000',
        '# TYPE thing unknown',
        'thing 1 -1.5',
        '# TYPE lat histogram',
        'lat_bucket{le="+Inf"} 2 # {trace_id="x"} 0.3',
        '# TYPE build info',
        'build_info{version="1"} 1',
        '# TYPE state stateset',
        'state{state="a"} 1',
        '# EOF',
        '',
      ].join('\n'));
      assert.deepEqual(r.errors, []);
      const byName = new Map(r.families.map((f) => [f.name, f]));
      assert.equal(byName.get('reqs')?.help, 'Requests "quoted".');
      assert.deepEqual(byName.get('reqs')?.samples[0], { name: 'reqs_total', labels: { a: 'b' }, value: 5, timestampMs: 1700000000123 });
      assert.equal(byName.get('reqs_seconds')?.unit, 'seconds');
      assert.deepEqual(byName.get('thing'), { name: 'thing', type: 'untyped', samples: [{ name: 'thing', labels: {}, value: 1, timestampMs: -1500 }] });
      assert.equal(byName.get('lat')?.samples[0].value, 2);
      assert.deepEqual(byName.get('build')?.samples.map((s) => s.name), ['build_info']);
      assert.equal(byName.get('state')?.type, 'gauge');
    });

    it('reports text after # EOF once', () => {
      const r = parsePrometheusText('a 1\n# EOF\nb 2\nc 3\n', { format: 'openmetrics' });
      assert.deepEqual(r.errors.map((e) => e.line), [3]);
      assert.deepEqual(r.families.map((f) => f.name), ['a']);
    });

    it('can be forced off: # EOF is then a comment and timestamps are milliseconds', () => {
      const r = parsePrometheusText('a 1 1500\n# EOF\n', { format: 'text' });
      assert.deepEqual(r.errors, []);
      assert.equal(r.families[0].samples[0].timestampMs, 1500);
    });
  });
});
