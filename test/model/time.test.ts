import assert from 'node:assert/strict';
import { autoMillis, digitsMillis, jsonTimestampMillis, parsePrecision, toMillis } from '../../src/model/time';

describe('timestamps', () => {
  it('detects the unit at the boundaries', () => {
    assert.equal(autoMillis(999_999_999_999), 999_999_999_999_000); // just below 1e12: seconds
    assert.equal(autoMillis(1e12), 1e12); // milliseconds
    assert.equal(autoMillis(1e15 - 1), 1e15 - 1);
    assert.equal(autoMillis(1e15), 1e12); // microseconds
    assert.equal(autoMillis(1e18), 1e12); // nanoseconds
    assert.equal(autoMillis(1704067200), 1704067200000);
  });

  it('keeps fractions', () => {
    assert.equal(autoMillis(1704067200.5), 1704067200500);
    assert.equal(autoMillis(1704067200123.25), 1704067200123.25);
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-3, `${a} ≈ ${b}`);
    near(digitsMillis('1704067200123456789'), 1704067200123.456789);
    near(digitsMillis('1704067200123456'), 1704067200123.456);
    assert.ok(digitsMillis('1704067200123456789') > 1704067200123.4, 'sub-millisecond part survives');
  });

  it('parses JSON timestamps: numbers, digit strings, RFC 3339', () => {
    assert.equal(jsonTimestampMillis(undefined), undefined);
    assert.equal(jsonTimestampMillis(null), undefined);
    assert.equal(jsonTimestampMillis('1704067200000000000'), 1704067200000);
    assert.equal(jsonTimestampMillis('2024-01-01T00:00:00Z'), 1704067200000);
    assert.ok(Math.abs(jsonTimestampMillis('2024-01-01T00:00:00.123456Z')! - 1704067200123.456) < 1e-3);
    assert.throws(() => jsonTimestampMillis('yesterday'), /neither an epoch number nor an RFC 3339 date/);
    assert.throws(() => jsonTimestampMillis(true), /number or a string/);
  });

  it('converts explicit precisions', () => {
    assert.equal(parsePrecision('u'), 'us');
    assert.equal(parsePrecision('n'), 'ns');
    assert.equal(toMillis(2, 'h'), 7_200_000);
    assert.equal(toMillis(3, 'm'), 180_000);
    assert.throws(() => parsePrecision('x'), /precision/);
  });
});

describe('timestamp conversions are exact where they can be', () => {
  it('ignores leading zeros when choosing the unit by digit count', () => {
    assert.equal(digitsMillis('0000001704067200'), 1704067200000);
  });
  it('divides for µs and ns so exact values stay exact', () => {
    assert.equal(toMillis(1704067350205953, 'us'), 1704067350205.953);
    assert.equal(autoMillis(1704067350205953), 1704067350205.953);
  });
});
