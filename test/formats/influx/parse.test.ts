import assert from 'node:assert/strict';
import { parseLineProtocol } from '../../../src/formats/influx/parse';
import type { ParseResult, Sample } from '../../../src/model/sample';
import type { Precision } from '../../../src/model/time';

/** Parses text that must have no errors. */
function ok(text: string, opts?: { precision?: Precision; defaultTimestampMs?: number }): Sample[] {
  const r = parseLineProtocol(text, opts);
  assert.deepEqual(r.errors, [], `unexpected errors for ${JSON.stringify(text)}`);
  return r.samples;
}

/** Parses a single line that must fail; returns its message. */
function fails(text: string, opts?: { precision?: Precision }): string {
  const r = parseLineProtocol(text, opts);
  assert.equal(r.samples.length, 0, `expected no samples for ${JSON.stringify(text)}`);
  assert.equal(r.errors.length, 1, `expected one error for ${JSON.stringify(text)}`);
  assert.equal(r.errors[0].line, 1);
  return r.errors[0].message;
}

/** name → value of the samples of a parse. */
function values(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[s.name] = s.value;
  return out;
}

function one(text: string, opts?: { precision?: Precision; defaultTimestampMs?: number }): Sample {
  const samples = ok(text, opts);
  assert.equal(samples.length, 1, `expected one sample for ${JSON.stringify(text)}`);
  return samples[0];
}

function tsOf(stamp: string, precision?: Precision): number | undefined {
  return one(`m v=1 ${stamp}`, precision ? { precision } : undefined).timestampMs;
}

describe('influx parseLineProtocol', () => {
  describe('basic lines', () => {
    it('turns every field of a line into one gauge sample with the tags as labels', () => {
      const samples = ok('cpu,host=node-1,cpu=cpu3 usage_user=1.5,usage_system=0.25,usage_idle=98.1 1704067200000000000');
      assert.equal(samples.length, 3);
      assert.deepEqual(
        samples.map((s) => [s.name, s.value, s.timestampMs, s.type]),
        [
          ['cpu_usage_user', 1.5, 1704067200000, 'gauge'],
          ['cpu_usage_system', 0.25, 1704067200000, 'gauge'],
          ['cpu_usage_idle', 98.1, 1704067200000, 'gauge'],
        ],
      );
      for (const s of samples) assert.deepEqual({ ...s.labels }, { host: 'node-1', cpu: 'cpu3' });
    });

    it('shares one labels object between the fields of a line', () => {
      const samples = ok('cpu,host=a x=1,y=2,z=3');
      assert.equal(samples[0].labels, samples[1].labels);
      assert.equal(samples[1].labels, samples[2].labels);
    });

    it('shares the labels object between lines with the same series text (from its second line on), not between different ones', () => {
      const samples = ok('cpu,host=a x=1 1\ncpu,host=b x=1 1\ncpu,host=a x=2 2\ncpu,host=a x=3 3');
      assert.equal(samples[2].labels, samples[3].labels);
      assert.notEqual(samples[1].labels, samples[2].labels);
      assert.deepEqual({ ...samples[0].labels }, { ...samples[2].labels });
      assert.equal(samples[1].labels.host, 'b');
    });

    it('names field "value" after the bare measurement (Telegraf prometheus_client v1)', () => {
      assert.deepEqual(values(ok('temp,zone=a value=21.5,max=30')), { temp: 21.5, temp_max: 30 });
    });

    it('sanitises measurement, field and tag names to the Prometheus character set', () => {
      const s = one('my-app.infer,k8s.pod/name=p-1,1st=x latency.ms=3');
      assert.equal(s.name, 'my_app_infer_latency_ms');
      assert.deepEqual({ ...s.labels }, { k8s_pod_name: 'p-1', _1st: 'x' });
    });

    it('accepts a line without tags and without timestamp', () => {
      const s = one('m v=1');
      assert.equal(s.name, 'm_v');
      assert.deepEqual({ ...s.labels }, {});
      assert.equal(s.timestampMs, undefined);
    });

    it('uses defaultTimestampMs for lines without a timestamp only', () => {
      const samples = ok('m a=1\nm b=2 1700000000', { defaultTimestampMs: 42.5 });
      assert.equal(samples[0].timestampMs, 42.5);
      assert.equal(samples[1].timestampMs, 1700000000000);
    });

    it('accepts runs of spaces between sections, and leading and trailing spaces', () => {
      const samples = ok('   m,t=1    a=1,b=2   1700000000   ');
      assert.deepEqual(values(samples), { m_a: 1, m_b: 2 });
      assert.equal(samples[0].timestampMs, 1700000000000);
      assert.equal(samples[0].labels.t, '1');
    });

    it('does not take a tab for a separator (InfluxDB does not either)', () => {
      assert.equal(fails('\tm v=1'), 'measurement name contains control character U+0009');
      assert.equal(fails('m,t=1\tv=1'), 'value of tag "t" contains control character U+0009');
      assert.match(fails('m v=1\t1700000000'), /^invalid float value "1\\t1700000000" for field "v"/);
      assert.match(fails('m v=1 1700000000\t'), /^invalid timestamp/);
      assert.equal(fails('m s="x"\t'), 'unexpected text after string field "s"');
    });

    it('returns empty results for an empty body', () => {
      assert.deepEqual(parseLineProtocol(''), { samples: [], errors: [], points: 0 });
    });
  });

  describe('escaping', () => {
    it('unescapes "\\," and "\\ " in the measurement and leaves "\\=" there literal', () => {
      // Sanitising maps every special character to one "_", so a kept backslash shows as an extra "_".
      assert.equal(one('a\\,b\\ c v=1').name, 'a_b_c_v');
      assert.equal(one('a\\=b v=1').name, 'a__b_v');
      assert.equal(one('a=b v=1').name, 'a_b_v');
    });

    it('unescapes ",", "=" and " " in tag keys and values', () => {
      const s = one('m,k\\ e\\=y\\,z=v\\,a\\ l\\=ue f=1');
      assert.deepEqual({ ...s.labels }, { k_e_y_z: 'v,a l=ue' });
    });

    it('unescapes ",", "=" and " " in field keys', () => {
      assert.equal(one('m f\\ o\\=o\\,x=1').name, 'm_f_o_o_x');
      assert.equal(one('m a\\\\b=1').name, 'm_a__b');
    });

    it('keeps a backslash before any other character literally', () => {
      assert.equal(one('m,path=C:\\temp\\x v=1').labels.path, 'C:\\temp\\x');
      assert.equal(one('m,t=a\\\\b v=1').labels.t, 'a\\\\b');
      assert.equal(one('m,t=a\\"b v=1').labels.t, 'a\\"b');
      assert.equal(one('m,t=a\\ v\\=1 x=2').labels.t, 'a v=1');
    });

    it('reads "\\\\," as a literal backslash followed by an escaped comma', () => {
      const s = one('m,t=a\\\\,u\\=v x=1');
      assert.deepEqual({ ...s.labels }, { t: 'a\\,u=v' });
    });

    it('rejects an unescaped "=" inside a tag value', () => {
      assert.equal(fails('m,q=a=b v=1'), 'value of tag "q" contains an unescaped "=" (write it as \\=)');
      assert.equal(one('m,q=a\\=b v=1').labels.q, 'a=b');
    });

    it('keeps quotes in tags and names as ordinary characters', () => {
      const s = one('m,t="x" v=1');
      assert.equal(s.labels.t, '"x"');
    });

    it('lets an escaped space at the end of the tags swallow the separator', () => {
      assert.equal(fails('m,t=a\\ v'), 'missing field set');
      assert.match(fails('m,t=a\\ v=1'), /unescaped "="/);
    });
  });

  describe('string fields', () => {
    it('skips string fields without error, even with spaces, commas, equals signs and escapes inside', () => {
      const samples = ok('m,h=a msg="hello, world = \\"quoted\\" \\\\ path C:\\x",v=2,note="a b" 1700000000');
      assert.deepEqual(values(samples), { m_v: 2 });
      assert.equal(samples[0].timestampMs, 1700000000000);
    });

    it('ends a string at the first unescaped quote', () => {
      assert.deepEqual(values(ok('m s="x\\\\",v=1')), { m_v: 1 });
      assert.deepEqual(values(ok('m s="",v=1')), { m_v: 1 });
      assert.deepEqual(values(ok('m s="a\\"b",v=1')), { m_v: 1 });
    });

    it('lets a string run over newlines, and numbers later lines on from the physical line', () => {
      const r = parseLineProtocol('m s="first\nsecond\r\nthird",v=1 1700000000\nm w=2\nbad\nm x="a\n\nb"\nbad');
      assert.deepEqual(values(r.samples), { m_v: 1, m_w: 2 });
      assert.equal(r.samples[0].timestampMs, 1700000000000);
      assert.deepEqual(r.errors.map((e) => e.line), [5, 9]);
      assert.equal(r.points, 3);
    });

    it('lets an unterminated string swallow the rest of the body as one bad point', () => {
      const r = parseLineProtocol('m v=1\nm s="no end,v=2\nm w=3\nm x=4');
      assert.deepEqual(values(r.samples), { m_v: 1 });
      assert.deepEqual(r.errors.map((e) => e.line), [2]);
      assert.match(r.errors[0].message, /unterminated string field "s"/);
    });

    it('after an error on a line with a multi-line string, goes on at the next newline after the error', () => {
      // The error is after the string, on its last line; the next line is a point again.
      const r = parseLineProtocol('m s="a\nb" 12x\nm v=1');
      assert.deepEqual(r.errors, [{ line: 1, message: 'invalid timestamp "12x"' }]);
      assert.deepEqual(values(r.samples), { m_v: 1 });
      // The error is before the string: the string's second line is read as a line of its own.
      const r2 = parseLineProtocol('m v=x,s="a\nm w=2 "');
      assert.deepEqual(r2.errors.map((e) => e.line), [1, 2]);
    });

    it('accepts a line with only string fields (no samples, no error)', () => {
      assert.deepEqual(parseLineProtocol('m s="x y"'), { samples: [], errors: [], points: 1 });
    });

    it('rejects unterminated strings and text glued to the closing quote', () => {
      assert.match(fails('m s="abc'), /^unterminated string field "s" \(no closing quote before the end of the body\)$/);
      assert.match(fails('m s="a b\\" 123'), /unterminated string field/);
      assert.match(fails('m s="a"b,v=1'), /unexpected text after string field "s"/);
    });
  });

  describe('field types', () => {
    it('reads floats in every decimal spelling', () => {
      const cases: Array<[string, number]> = [
        ['1', 1], ['-1.5', -1.5], ['1e5', 1e5], ['1E5', 1e5], ['1e-5', 1e-5], ['-1.5E+3', -1500], ['.5', 0.5],
        ['-.5', -0.5], ['1.', 1], ['007', 7], ['0.1', 0.1], ['98.1', 98.1], ['123456789.123456789', 123456789.123456789],
        ['0.30000000000000004', 0.30000000000000004], ['1.7976931348623157e308', 1.7976931348623157e308],
        ['5e-324', 5e-324], ['1e-400', 0], ['123e20', 1.23e22], ['1e23', 1e23], ['9007199254740993', 9007199254740992],
      ];
      for (const [text, expected] of cases) {
        assert.equal(one(`m v=${text}`).value, expected, text);
      }
      assert.ok(Object.is(one('m v=-0').value, -0));
      assert.ok(Object.is(one('m v=-0.0').value, -0));
    });

    it('reads integers with i and unsigned integers with u', () => {
      assert.deepEqual(
        values(ok('m a=12i,b=-12i,c=0i,d=9223372036854775807i,e=-9223372036854775808i,f=12u,g=18446744073709551615u,h=0u,i=0012i')),
        { m_a: 12, m_b: -12, m_c: 0, m_d: 9223372036854775807, m_e: -9223372036854775808, m_f: 12, m_g: 18446744073709551615, m_h: 0, m_i: 12 },
      );
    });

    it('rejects integers outside the 64-bit ranges and malformed ones', () => {
      assert.match(fails('m v=9223372036854775808i'), /integer value "9223372036854775808i" for field "v" is outside the int64 range/);
      assert.match(fails('m v=-9223372036854775809i'), /outside the int64 range/);
      assert.match(fails('m v=18446744073709551616u'), /outside the uint64 range/);
      assert.match(fails('m v=-1u'), /invalid unsigned integer value "-1u" for field "v"/);
      assert.match(fails('m v=1.5i'), /invalid integer value "1.5i" for field "v"/);
      assert.match(fails('m v=i'), /invalid float value "i"/);
      assert.match(fails('m v=-i'), /invalid integer value "-i"/);
      assert.match(fails('m v=1e3i'), /invalid integer value/);
      assert.match(fails('m v=12I'), /invalid float value "12I"/);
    });

    it('reads all boolean spellings as 1 and 0', () => {
      const t = values(ok('m a=t,b=T,c=true,d=True,e=TRUE'));
      assert.deepEqual(Object.values(t), [1, 1, 1, 1, 1]);
      const f = values(ok('m a=f,b=F,c=false,d=False,e=FALSE'));
      assert.deepEqual(Object.values(f), [0, 0, 0, 0, 0]);
    });

    it('rejects other boolean-looking words', () => {
      for (const word of ['tRUE', 'yes', 'tr', 'falsey', 'FALSe']) {
        assert.match(fails(`m v=${word}`), new RegExp(`invalid float value "${word}" for field "v"`), word);
      }
    });

    it('rejects NaN and infinity in every spelling', () => {
      for (const word of ['nan', 'NaN', 'NAN', 'inf', '-inf', 'Inf', 'Infinity', '-Infinity', '+inf']) {
        assert.match(fails(`m v=${word}`), /NaN and infinity are not accepted/, word);
      }
      assert.match(fails('m v=1e400'), /float value "1e400" for field "v" is out of range/);
      assert.match(fails('m v=-1e99999999'), /out of range/);
    });

    it('rejects non-numbers with a message naming the value and the field', () => {
      assert.match(fails('m x=abc'), /^invalid float value "abc" for field "x"/);
      for (const text of ['+1', '1_000', '0x10', '1.2.3', '1e', '1e+', '.', '-', '1-2', '12a', '1,5e']) {
        const msg = fails(`m v=${text}`);
        assert.match(msg, /invalid (float|integer) value|missing|empty field/, `${text}: ${msg}`);
      }
    });

    it('lets the last of duplicate field keys win', () => {
      assert.deepEqual(values(ok('m v=1,w=5,v=2')), { m_v: 2, m_w: 5 });
      assert.equal(ok('m v=1,w=5,v=2').length, 2);
      assert.deepEqual(values(ok('m v=1,v="now a string",w=3')), { m_w: 3 });
      assert.deepEqual(values(ok('m v="s",v=3')), { m_v: 3 });
      // Keys that sanitise to the same series are the same series: last wins there too.
      assert.deepEqual(ok('m a-b=1,a_b=2').map((s) => [s.name, s.value]), [['m_a_b', 2]]);
    });
  });

  describe('comments, blank lines and line endings', () => {
    it('skips blank, whitespace-only and comment lines without error, and accepts CRLF', () => {
      const text = '# header\r\n\r\n   \r\n  # indented comment\r\nm v=1\r\n\nm w=2 1700000000\r\n#last';
      const samples = ok(text);
      assert.deepEqual(values(samples), { m_v: 1, m_w: 2 });
      assert.equal(samples[1].timestampMs, 1700000000000);
    });

    it('rejects a comment or blank line with a control character in it, as InfluxDB does', () => {
      assert.equal(fails('# a\ttab'), 'comment contains control character U+0009');
      assert.equal(fails('\t'), 'measurement name contains control character U+0009');
      assert.equal(fails(' \r '), 'measurement name contains control character U+000D');
      ok('#\r\n# c\r');
    });

    it('does not treat "#" inside a line as a comment', () => {
      assert.equal(one('a#b,t=#x v=1').name, 'a_b_v');
      assert.equal(one('a#b,t=#x v=1').labels.t, '#x');
    });

    it('counts every physical line, blank and comment lines included, in error line numbers', () => {
      const text = ['# c', '', 'good v=1', 'bad', '   ', 'good w=2', 'm x=oops', '# end', 'm y=1 12a', 'good z=3'].join('\r\n');
      const r = parseLineProtocol(text);
      assert.deepEqual(
        r.errors.map((e) => e.line),
        [4, 7, 9],
      );
      assert.deepEqual(values(r.samples), { good_v: 1, good_w: 2, good_z: 3 });
    });

    it('does not count a final newline as an extra line', () => {
      const r = parseLineProtocol('m v=1\nbad\n');
      assert.deepEqual(r.errors, [{ line: 2, message: 'missing field set' }]);
    });

    it('drops all samples of a bad line, including fields before the error', () => {
      const r = parseLineProtocol('m a=1,b=2,c=x\nm d=4');
      assert.deepEqual(values(r.samples), { m_d: 4 });
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].line, 1);
      assert.match(r.errors[0].message, /invalid float value "x" for field "c"/);
    });
  });

  describe('structure errors', () => {
    it('names what is missing', () => {
      assert.equal(fails('cpu'), 'missing field set');
      assert.equal(fails('cpu,host=a'), 'missing field set');
      assert.equal(fails('cpu   '), 'missing field set');
      assert.equal(fails(',host=a v=1'), 'missing measurement name');
      assert.equal(fails('m v'), 'missing "=" after field key "v"');
      assert.equal(fails('m v=1,w'), 'missing "=" after field key "w"');
      assert.equal(fails('m v='), 'missing value for field "v"');
      assert.equal(fails('m v=,w=1'), 'missing value for field "v"');
      assert.equal(fails('m =1'), 'empty field key');
      assert.equal(fails('m v=1,'), 'empty field (stray ",")');
      assert.equal(fails('m v=1,,w=2'), 'empty field (stray ",")');
      assert.equal(fails('m,host v=1'), 'tag "host" has no "=" and value');
      assert.equal(fails('m, v=1'), 'empty tag (stray ",")');
      assert.equal(fails('m,=x v=1'), 'empty tag key');
      assert.match(fails('m v=1 1700000000 extra'), /unexpected text after timestamp: "extra"/);
    });

    it('rejects a measurement name longer than 256 characters', () => {
      ok(`${'m'.repeat(256)} v=1`);
      assert.match(fails(`${'m'.repeat(257)} v=1`), /measurement name is 257 characters long; the limit is 256/);
    });

    it('rejects a field key longer than 256 characters', () => {
      ok(`m ${'k'.repeat(256)}=1`);
      assert.match(fails(`m ${'k'.repeat(257)}=1`), /field key "k+…" is longer than 256 characters/);
    });

    it('accepts 64 tags and rejects 65', () => {
      const tags = (n: number): string => Array.from({ length: n }, (_, k) => `,t${k}=v${k}`).join('');
      assert.equal(Object.keys(one(`m${tags(64)} v=1`).labels).length, 64);
      assert.equal(fails(`m${tags(65)} v=1`), 'more than 64 tags');
    });

    it('rejects tags with an empty value', () => {
      assert.equal(fails('m,a=,b=2 v=1'), 'tag "a" has an empty value');
      assert.equal(fails('m,b=2,c= v=1'), 'tag "c" has an empty value');
    });

    it('rejects duplicate tag keys, and tag keys that become the same label name', () => {
      assert.equal(fails('m,host=a,host=b v=1'), 'duplicate tag key "host"');
      assert.equal(fails('m,host=a,host=a v=1'), 'duplicate tag key "host"');
      assert.equal(fails('m,h\\ x=a,h\\ x=b v=1'), 'duplicate tag key "h x"');
      assert.equal(fails('m,a.b=1,a_b=2 v=1'), 'tag keys "a.b" and "a_b" both become label "a_b"');
      assert.equal(fails('m,a_b=1,a-b=2 v=1'), 'tag keys "a_b" and "a-b" both become label "a_b"');
    });

    it('rejects control characters in measurement names, tag keys, tag values and field keys', () => {
      for (const c of ['\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f', '\u007f']) {
        const u = 'U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
        assert.equal(fails(`m${c}x v=1`), `measurement name contains control character ${u}`);
        assert.equal(fails(`m,k${c}=a v=1`), `tag key ${JSON.stringify(`k${c}`)} contains control character ${u}`);
        assert.equal(fails(`m,k=a${c}b v=1`), `value of tag "k" contains control character ${u}`);
        assert.equal(fails(`m f${c}=1`), `field key ${JSON.stringify(`f${c}`)} contains control character ${u}`);
        // Escaping does not make them valid either.
        assert.match(fails(`m\\${c} v=1`), /control character/);
        // Inside a string field they are content.
        assert.deepEqual(values(ok(`m s="a${c}b",v=1`)), { m_v: 1 });
      }
      // Not control characters: C1 and other non-ASCII characters are fine.
      assert.equal(one('m,t=\u0085\u00a0 v=1').labels.t, '\u0085\u00a0');
    });

    it('rejects label values over 2 KiB, counted in UTF-8 bytes', () => {
      ok(`m,t=${'x'.repeat(2048)} v=1`);
      assert.match(fails(`m,t=${'x'.repeat(2049)} v=1`), /value of label "t" is longer than 2048 bytes/);
      // 683 euro signs are 2049 bytes in 683 characters.
      assert.match(fails(`m,t=${'€'.repeat(683)} v=1`), /longer than 2048 bytes/);
      ok(`m,t=${'€'.repeat(682)} v=1`);
    });

    it('rejects reserved label names', () => {
      assert.match(fails('m,__name__=x v=1'), /reserved/);
    });

    it('reports the same error for every line of a bad series, and never mixes it into good lines', () => {
      const r = parseLineProtocol('m,__x=1 v=1\nm,ok=1 v=1\nm,__x=1 v=2');
      assert.deepEqual(r.errors.map((e) => e.line), [1, 3]);
      assert.equal(r.samples.length, 1);
      assert.equal(r.samples[0].labels.ok, '1');
    });
  });

  describe('timestamps', () => {
    it('auto-detects the unit by magnitude at the boundaries', () => {
      assert.equal(tsOf('999999999999'), 999999999999000); // seconds
      assert.equal(tsOf('1000000000000'), 1000000000000); // milliseconds
      assert.equal(tsOf('999999999999999'), 999999999999999); // milliseconds
      assert.equal(tsOf('1000000000000000'), 1000000000000); // microseconds
      assert.equal(tsOf('999999999999999999'), 999999999999999 + 0.999); // microseconds
      assert.equal(tsOf('1000000000000000000'), 1000000000000); // nanoseconds
      assert.equal(tsOf('1704067200'), 1704067200000);
      assert.equal(tsOf('1704067200123'), 1704067200123);
      assert.equal(tsOf('1704067200123456'), 1704067200123.456);
      assert.equal(tsOf('0'), 0);
      assert.equal(tsOf('-1704067200'), -1704067200000);
      assert.equal(tsOf('-1704067200123456789'), -(1704067200123 + 0.456789));
    });

    it('detects the unit from the value, not from leading zeros', () => {
      assert.equal(tsOf('0001704067200'), 1704067200000);
      assert.equal(tsOf('00000000000001704067200'), 1704067200000);
      assert.equal(tsOf('-0000000000000000001704067200'), -1704067200000);
    });

    it('keeps the sub-millisecond part of nanosecond timestamps exactly', () => {
      // Through a double of the whole number this would come out as 1704067200123.2158.
      assert.equal(tsOf('1704067200123215953'), 1704067200123 + 0.215953);
      assert.equal(tsOf('1704067200123215953'), 1704067200123.216);
      assert.equal(tsOf('1704067200123215953', 'ns'), 1704067200123.216);
      assert.equal(tsOf('1704067200000000001', 'ns'), 1704067200000 + 0.000001);
    });

    it('reads the timestamp in the given precision', () => {
      assert.equal(tsOf('1704067200123456789', 'ns'), 1704067200123 + 0.456789);
      assert.equal(tsOf('1500', 'ns'), 0.0015);
      assert.equal(tsOf('1704067350205953', 'us'), 1704067350205.953);
      assert.equal(tsOf('1500', 'us'), 1.5);
      assert.equal(tsOf('1704067200123', 'ms'), 1704067200123);
      assert.equal(tsOf('1704067200', 's'), 1704067200000);
      assert.equal(tsOf('28401120', 'm'), 28401120 * 60000);
      assert.equal(tsOf('473352', 'h'), 473352 * 3600000);
      assert.equal(tsOf('-5', 's'), -5000);
      // A small number stays in the given unit instead of being auto-detected.
      assert.equal(tsOf('1704067200', 'ms'), 1704067200);
      assert.equal(tsOf('1704067200', 'ns'), 1704.0672);
    });

    it('rejects malformed timestamps', () => {
      assert.equal(fails('m v=1 12a'), 'invalid timestamp "12a"');
      assert.equal(fails('m v=1 1.5'), 'invalid timestamp "1.5"');
      assert.equal(fails('m v=1 -'), 'invalid timestamp "-"');
      assert.equal(fails('m v=1 --5'), 'invalid timestamp "--5"');
      assert.equal(fails('m v=1 +5'), 'invalid timestamp "+5"');
      assert.equal(fails('m v=1 1e9'), 'invalid timestamp "1e9"');
    });

    it('rejects timestamps outside int64 or outside what a Date can hold', () => {
      assert.match(fails('m v=1 9223372036854775808'), /outside the int64 range/);
      assert.match(fails('m v=1 12345678901234567890'), /outside the int64 range/);
      ok('m v=1 9223372036854775807');
      ok('m v=1 -9223372036854775808');
      assert.match(fails('m v=1 1704067200000', { precision: 'h' }), /out of range for precision h/);
      assert.match(fails('m v=1 9000000000000000', { precision: 'ms' }), /out of range/);
    });

    it('reports an unknown precision option instead of throwing', () => {
      const r = parseLineProtocol('m v=1', { precision: 'x' as Precision });
      assert.equal(r.samples.length, 0);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].line, 0);
    });
  });

  describe('robustness', () => {
    it('never throws, and every error names an existing line', () => {
      let seed = 12345;
      const rnd = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed % n;
      };
      const alphabet = ['m', 'x', '1', '0', '.', '-', 'e', 'i', 'u', 't', 'f', ',', '=', ' ', '\t', '\\', '"', '#', '\r', '\n', 'é', '😀', '9'];
      for (let round = 0; round < 3000; round++) {
        let text = '';
        const len = rnd(60);
        for (let k = 0; k < len; k++) text += alphabet[rnd(alphabet.length)];
        let r: ParseResult;
        try {
          r = parseLineProtocol(text);
        } catch (err) {
          assert.fail(`threw on ${JSON.stringify(text)}: ${String(err)}`);
        }
        const lines = text.split('\n').length;
        for (const e of r.errors) {
          assert.ok(e.line >= 1 && e.line <= lines, `line ${e.line} of ${lines}`);
          assert.equal(typeof e.message, 'string');
          assert.ok(e.message.length > 0);
        }
        for (const s of r.samples) assert.ok(Number.isFinite(s.value), JSON.stringify(text));
      }
    });

    it('reports a non-string body instead of throwing', () => {
      const r = parseLineProtocol(undefined as unknown as string);
      assert.equal(r.samples.length, 0);
      assert.equal(r.errors.length, 1);
    });

    it('cuts long input short in error messages', () => {
      const msg = fails(`m v=${'a'.repeat(5000)}`);
      assert.ok(msg.length < 300, msg);
    });

    it('handles many distinct series in one body', () => {
      const lines = Array.from({ length: 20000 }, (_, k) => `m,id=${k} v=${k}`);
      const samples = ok(lines.join('\n'));
      assert.equal(samples.length, 20000);
      assert.equal(samples[19999].labels.id, '19999');
      assert.equal(samples[19999].value, 19999);
    });

    it('gives lines whose series texts collide in the hash their own labels', () => {
      // "Aa" and "BB" have the same 31-based string hash, so these two series texts collide.
      const samples = ok('m,t=Aa v=1\nm,t=BB v=2\nm,t=Aa v=3');
      assert.deepEqual(samples.map((s) => s.labels.t), ['Aa', 'BB', 'Aa']);
      const fields = ok('m Aa=1,BB=2');
      assert.deepEqual(fields.map((s) => s.name), ['m_Aa', 'm_BB']);
    });

    it('still reads field keys right when a series changes its field order', () => {
      const samples = ok('m a=1,b=2\nm b=3,a=4\nm c=5,a=6,b=7');
      assert.deepEqual(samples.map((s) => [s.name, s.value]), [
        ['m_a', 1], ['m_b', 2], ['m_b', 3], ['m_a', 4], ['m_c', 5], ['m_a', 6], ['m_b', 7],
      ]);
      // A known key that is a prefix of the next line's key must not be mistaken for it.
      assert.deepEqual(ok('m ab=1\nm abc=2\nm ab=3').map((s) => s.name), ['m_ab', 'm_abc', 'm_ab']);
    });
  });
});
