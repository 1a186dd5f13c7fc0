/**
 * A tiny protobuf writer for building test inputs by hand, independent of the decoder under test.
 * Every helper returns a byte array; `msg` concatenates them.
 */

export type Bytes = number[];

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

/** Varint of a 64-bit value; negative numbers are written as their two's complement (10 bytes). */
export function varint(v: number | bigint): Bytes {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: Bytes = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export function key(field: number, wireType: number): Bytes {
  return varint((field << 3) | wireType);
}

export function msg(...parts: Bytes[]): Bytes {
  return ([] as Bytes).concat(...parts);
}

export function u8(parts: Bytes): Uint8Array {
  return Uint8Array.from(parts);
}

export function fixed64Bytes(v: number | bigint): Bytes {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
  return [...b];
}

export function doubleBytes(v: number): Bytes {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...b];
}

export function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

export const fVarint = (field: number, v: number | bigint): Bytes => msg(key(field, VARINT), varint(v));
export const fSint32 = (field: number, v: number): Bytes => msg(key(field, VARINT), varint(zigzag32(v)));
export const fFixed64 = (field: number, v: number | bigint): Bytes => msg(key(field, I64), fixed64Bytes(v));
export const fDouble = (field: number, v: number): Bytes => msg(key(field, I64), doubleBytes(v));
export const fFixed32 = (field: number, v: number): Bytes => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return msg(key(field, I32), [...b]);
};
export const fLen = (field: number, body: Bytes): Bytes => msg(key(field, LEN), varint(body.length), body);
export const fString = (field: number, s: string): Bytes => fLen(field, [...Buffer.from(s, 'utf8')]);

// OTLP building blocks (field numbers from opentelemetry-proto).
export const anyString = (s: string): Bytes => fString(1, s);
export const kv = (k: string, value: Bytes): Bytes => msg(fString(1, k), fLen(2, value));
