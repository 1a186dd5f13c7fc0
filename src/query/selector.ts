/**
 * Prometheus-style series selectors: `name`, `{job="x"}`, `name{a="b",c!="d",e=~"x.*",f!~"y|z"}`.
 *
 * Pure. `parseSelector` throws ValidationError (mapped to 4xx at the HTTP edge) with the 1-based
 * position of the problem; a returned Selector is immutable and can be shared and reused.
 *
 * Semantics follow Prometheus:
 * - a missing label has the value "", so `a=""` matches series without `a` and `a!=""` those with it;
 * - regexes are anchored at both ends (`^(?:re)$`) and `.` also matches a line feed;
 * - a selector must have at least one matcher that does not match the empty string (so `{}` or
 *   `{a=~".*"}` alone are rejected), and the metric name may be given only once.
 * Regexes are RE2, as in Prometheus (src/query/regex.ts): the same syntax as PromQL (`(?i)` and other
 * flags inline) and matching in time linear in the value's length, whatever the pattern. A pattern
 * RE2 rejects (e.g. backreferences, lookahead) is a ValidationError naming it.
 */

import type { Labels } from '../model/sample';
import { ValidationError } from '../model/names';
import { LabelRegex, RegexError } from './regex';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  /** Label name; `__name__` matches the metric name. */
  label: string;
  op: MatchOp;
  /** The value or regex source as written (after unquoting). */
  value: string;
  /** Compiled, anchored regex for `=~` and `!~`. */
  re?: LabelRegex;
}

export interface Selector {
  /** The bare metric name before `{`, when given. */
  name?: string;
  matchers: Matcher[];
}

/** Longest selector text we accept, to keep regex compilation and matching bounded. */
export const MAX_SELECTOR_LENGTH = 4096;

export function parseSelector(text: string): Selector {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new ValidationError(`selector is ${text.length} characters long; the limit is ${MAX_SELECTOR_LENGTH}`);
  }
  const p = new Scanner(text);
  const sel: Selector = { matchers: [] };

  p.skipSpace();
  if (isNameStart(p.peek(), true)) sel.name = p.name(true);
  p.skipSpace();
  if (p.peek() === '{') {
    p.pos++;
    for (;;) {
      p.skipSpace();
      if (p.peek() === '}') break;
      if (p.peek() === '') p.fail('missing "}"');
      sel.matchers.push(matcher(p));
      p.skipSpace();
      const c = p.peek();
      if (c === ',') p.pos++;
      else if (c !== '}') p.fail(c === '' ? 'missing "}"' : `expected "," or "}", found ${JSON.stringify(c)}`);
    }
    p.pos++;
    p.skipSpace();
  }
  if (p.pos < text.length) p.fail(`unexpected ${JSON.stringify(text[p.pos])}`);
  if (sel.name === undefined && sel.matchers.length === 0) {
    throw new ValidationError(text.trim() === '' ? 'selector is empty' : 'selector has neither a metric name nor matchers');
  }
  if (sel.name !== undefined && sel.matchers.some((m) => m.label === '__name__')) {
    throw new ValidationError('metric name is given twice (before "{" and as __name__)');
  }
  if (sel.name === undefined && sel.matchers.every((m) => matcherMatches(m, ''))) {
    throw new ValidationError('selector must contain at least one matcher that does not match the empty string');
  }
  return sel;
}

export function matchesSelector(sel: Selector, name: string, labels: Labels): boolean {
  if (sel.name !== undefined && sel.name !== name) return false;
  for (const m of sel.matchers) {
    const v = m.label === '__name__' ? name : Object.hasOwn(labels, m.label) ? labels[m.label] : '';
    if (!matcherMatches(m, v)) return false;
  }
  return true;
}

export function matcherMatches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=': return value === m.value;
    case '!=': return value !== m.value;
    case '=~': return (m.re as LabelRegex).test(value);
    case '!~': return !(m.re as LabelRegex).test(value);
  }
}

function matcher(p: Scanner): Matcher {
  if (!isNameStart(p.peek(), false)) p.fail(`expected a label name, found ${JSON.stringify(p.peek() || 'end of text')}`);
  const label = p.name(false);
  p.skipSpace();
  const op = p.op();
  p.skipSpace();
  const valueAt = p.pos;
  const value = p.string();
  const m: Matcher = { label, op, value };
  if (op === '=~' || op === '!~') m.re = compileRegex(value, valueAt + 1);
  return m;
}

function compileRegex(source: string, position: number): LabelRegex {
  try {
    return new LabelRegex(source);
  } catch (err) {
    if (err instanceof RegexError) throw new ValidationError(`invalid regex ${JSON.stringify(source)} at position ${position}: ${err.reason}`);
    throw err;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'",
};

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  peek(): string {
    return this.pos < this.text.length ? this.text[this.pos] : '';
  }

  fail(message: string, at = this.pos): never {
    throw new ValidationError(`${message} at position ${at + 1} of selector ${JSON.stringify(this.text)}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  name(metric: boolean): string {
    const start = this.pos;
    while (this.pos < this.text.length && isNameChar(this.text[this.pos], metric)) this.pos++;
    return this.text.slice(start, this.pos);
  }

  op(): MatchOp {
    const two = this.text.slice(this.pos, this.pos + 2);
    if (two === '!=' || two === '=~' || two === '!~') {
      this.pos += 2;
      return two;
    }
    if (two[0] === '=') {
      this.pos++;
      return '=';
    }
    return this.fail(`expected one of =, !=, =~, !~, found ${JSON.stringify(this.peek() || 'end of text')}`);
  }

  /** A "double", 'single' (with Go escapes) or `raw` quoted string. */
  string(): string {
    const start = this.pos;
    const quote = this.peek();
    if (quote !== '"' && quote !== "'" && quote !== '`') {
      this.fail(`expected a quoted value, found ${JSON.stringify(quote || 'end of text')}`);
    }
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail(`unterminated string`, start);
      const c = this.text[this.pos];
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\n' && quote !== '`') this.fail('line break inside a quoted value');
      if (c !== '\\' || quote === '`') {
        out += c;
        this.pos++;
        continue;
      }
      out += this.escape();
    }
  }

  /** Reads one escape sequence starting at the backslash. */
  private escape(): string {
    const at = this.pos;
    const e = this.text[this.pos + 1] ?? '';
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
      this.pos += 2;
      return SIMPLE_ESCAPES[e];
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const digits = this.text.slice(this.pos + 2, this.pos + 2 + hexLen);
      if (digits.length !== hexLen || !/^[0-9a-fA-F]+$/.test(digits)) this.fail(`bad \\${e} escape`, at);
      const code = parseInt(digits, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail(`\\${e}${digits} is not a valid code point`, at);
      this.pos += 2 + hexLen;
      return String.fromCodePoint(code);
    }
    if (e >= '0' && e <= '7') {
      const digits = this.text.slice(this.pos + 1, this.pos + 4);
      if (!/^[0-7]{3}$/.test(digits) || parseInt(digits, 8) > 255) this.fail('bad octal escape', at);
      this.pos += 4;
      return String.fromCharCode(parseInt(digits, 8));
    }
    return this.fail(e === '' ? 'unterminated string' : `unknown escape sequence \\${e}`, at);
  }
}

function isNameStart(c: string, metric: boolean): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || (metric && c === ':');
}

function isNameChar(c: string, metric: boolean): boolean {
  return isNameStart(c, metric) || (c >= '0' && c <= '9');
}
