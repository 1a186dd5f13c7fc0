/**
 * Push endpoints: simple JSON, JSON batch, line protocol (our route and the InfluxDB-compatible
 * /write and /api/v2/write), and the component report API. Each reads its body with the size
 * limit, parses it with a pure format module, and hands the samples to the hub.
 */

import { parseReport } from '../../formats/component-report/parse';
import { selfReportSamples } from '../../formats/component-report/self-report';
import { parseBatch, parseSimple } from '../../formats/json/parse';
import { ValidationError } from '../../model/names';
import type { ItemError, ParseResult, Sample } from '../../model/sample';
import { parsePrecision, type Precision } from '../../model/time';
import type { WriteResult } from '../../store/series-store';
import type { IngestFormat } from '../../telemetry/self-metrics';
import { SelfSnapshotReader } from '../../telemetry/self-snapshot';
import { isJsonType, mediaType, readText, readTextParts } from '../body';
import { LineSlicer, SliceSizer } from '../line-slices';
import type { AppContext } from '../context';
import { badRequest, HttpError, tooManySamples, unprocessable, unsupportedMediaType } from '../errors';
import { acceptInSteps, SLICE_MS, yieldToLoop } from '../steps';
import type { Identity } from '../../auth/tokens';
import { sendEmpty, sendJson, type BodyBudget, type Handler, type PlainRequest, type RouteHandlers, type RouteKey } from '../respond';

/** Reads and parses a JSON body; wrong content type → 415, bad JSON → 400 naming the position. */
export async function readJson(req: PlainRequest, budget: BodyBudget): Promise<unknown> {
  const mt = mediaType(req);
  if (!isJsonType(mt)) {
    req.resume();
    throw unsupportedMediaType(`Content-Type ${JSON.stringify(mt)} is not JSON; send application/json`);
  }
  const text = await readText(req, budget.maxBodyBytes, budget.ticket);
  if (text.trim() === '') throw badRequest('request body is empty; a JSON object was expected');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

export function formatItemErrors(errors: readonly ItemError[], max = 100): string[] {
  const out = errors.slice(0, max).map((e) => (e.line > 0 ? `line ${e.line}: ${e.message}` : e.message));
  if (errors.length > max) out.push(`… and ${errors.length - max} more`);
  return out;
}

/** Storage problems the client should hear about even on success (type conflicts, a namespace's series quota). */
function storeNotes(res: WriteResult): string[] {
  const notes: string[] = [];
  if (res.typeConflicts > 0) notes.push(`${res.typeConflicts} sample(s) refused: ${res.firstConflict}`);
  if (res.quotaRefused > 0) notes.push(`${res.quotaRefused} sample(s) refused: ${res.firstQuota}`);
  return notes;
}

/** Push routes (all POST), by table row. */
export function ingestRoutes(ctx: AppContext): RouteHandlers {
  const r = new Map<RouteKey, Handler>();
  const cfg = () => ctx.config.get();

  /** Stores and fans out; with a spooling sink, resolves only once the batch is on disk (no 2xx before). */
  const store = async (req: PlainRequest, samples: Sample[], format: IngestFormat, identity: Identity | undefined): Promise<WriteResult> => {
    const max = cfg().maxSamplesPerRequest;
    if (samples.length > max) throw tooManySamples(max);
    return acceptInSteps(ctx, samples, format, identity, req.socket.remoteAddress);
  };

  /** A JSON route whose whole request was refused by the store (type conflicts, a series quota). */
  const checkStored = (res: WriteResult, wanted: number) => {
    if (wanted > 0 && res.stored === 0 && res.typeConflicts + res.quotaRefused > 0) throw unprocessable(res.firstConflict ?? res.firstQuota ?? 'refused by the store');
  };

  r.set('POST /api/v1/metrics/simple', async (req, res, _query, budget) => {
    const body = await readJson(req, budget);
    const sample = rejectCounted(ctx, 'simple', () => parseSimple(body));
    const out = await store(req, [sample], 'simple', budget.identity);
    checkStored(out, 1);
    sendJson(res, 202, { accepted: 1, message: `Accepted metric '${sample.name}'`, errors: storeNotes(out) });
  });

  r.set('POST /api/v1/metrics', async (req, res, _query, budget) => {
    const body = await readJson(req, budget);
    const { samples, points } = rejectCounted(ctx, 'json', () => parseBatch(body, cfg().maxBatchSize));
    const out = await store(req, samples, 'json', budget.identity);
    checkStored(out, samples.length);
    sendJson(res, 202, { accepted: points, message: `Accepted ${points} metrics`, errors: storeNotes(out) });
  });

  r.set('POST /api/metrics/report', async (req, res, _query, budget) => {
    const body = await readJson(req, budget);
    const samples = rejectCounted(ctx, 'report', () => parseReport(body, cfg().maxBatchSize));
    const out = await store(req, samples, 'report', budget.identity);
    checkStored(out, samples.length);
    sendJson(res, 202, { accepted: samples.length, message: `Accepted ${samples.length} metrics`, errors: storeNotes(out) });
  });

  // The agent reports its own process and node figures under the component name it is given.
  // No body is read: whatever a client sends is discarded.
  const self = new SelfSnapshotReader(ctx.now);
  r.set('POST /api/metrics/self-report', async (req, res, query, budget) => {
    req.resume();
    const names = query.getAll('component_name');
    const types = query.getAll('component_type');
    if (names.length !== 1 || names[0] === '') throw badRequest('component_name is required, once (POST /api/metrics/self-report?component_name=<name>)');
    if (types.length > 1) throw badRequest('component_type must be given at most once');
    const samples = rejectCounted(ctx, 'report', () => selfReportSamples(self.read(), names[0], types[0] || undefined));
    const out = await store(req, samples, 'report', budget.identity);
    checkStored(out, samples.length);
    sendJson(res, 202, {
      accepted: out.stored, message: `Recorded ${out.stored} metrics of the agent as component '${names[0]}'`,
      metrics: samples.map((s) => s.name), errors: storeNotes(out),
    });
  });

  /** Line protocol: good lines are stored even when others are bad. */
  const lineProtocol = async (req: PlainRequest, format: IngestFormat, precisionParam: string[], budget: BodyBudget) => {
    const precision = precisionOf(precisionParam);
    const parts = await readTextParts(req, budget.maxBodyBytes, budget.ticket);
    const parsed = await parseInSteps(ctx, parts, precision, cfg().maxSamplesPerRequest);
    ctx.metrics.samplesRejected(format, 'parse', parsed.errors.length);
    const out = await acceptInSteps(ctx, parsed.samples, format, budget.identity, req.socket.remoteAddress);
    return { parsed, out, lines: parsed.points ?? 0 };
  };

  r.set('POST /api/v1/metrics/influx', async (req, res, query, budget) => {
    const { parsed, out, lines } = await lineProtocol(req, 'influx', query.getAll('precision'), budget);
    const errors = [...formatItemErrors(parsed.errors), ...storeNotes(out)];
    if (lines === 0 && parsed.errors.length > 0) throw badRequest('No valid metrics found in input', errors);
    sendJson(res, 202, { accepted: lines, message: `Accepted ${lines} metrics`, errors });
  });

  // InfluxDB 1.x: 204 when everything was written; a partial write is a 400 whose `error` names
  // the first bad line (the good lines are kept), as InfluxDB itself answers.
  // Samples refused by the store (type conflicts, a series quota) make a partial write too: a 204 would claim them.
  const firstProblem = (parsed: { errors: ItemError[] }, out: WriteResult) =>
    parsed.errors.length > 0 ? formatItemErrors(parsed.errors, 1)[0] : out.firstConflict ?? out.firstQuota;

  r.set('POST /write', async (req, res, query, budget) => {
    const { parsed, out } = await lineProtocol(req, 'write', query.getAll('precision'), budget);
    const first = firstProblem(parsed, out);
    if (first !== undefined) {
      sendJson(res, 400, { error: `partial write: ${first} dropped=${parsed.errors.length + out.typeConflicts + out.quotaRefused}` });
      return;
    }
    sendEmpty(res, 204);
  });

  // InfluxDB 2.x write API (what @influxdata/influxdb-client uses); org and bucket are ignored.
  r.set('POST /api/v2/write', async (req, res, query, budget) => {
    const { parsed, out, lines } = await lineProtocol(req, 'write', query.getAll('precision'), budget);
    const first = firstProblem(parsed, out);
    if (first !== undefined) {
      sendJson(res, 400, { code: 'invalid', message: `partial write error (${lines} written): ${first}` });
      return;
    }
    sendEmpty(res, 204);
  });

  return r;
}

/**
 * Characters of line protocol per parse step. A body up to LP_WHOLE_BODY_CHARS (the usual push:
 * a few ms of parsing) is parsed in one step, as one string; a larger one in slices, the first of
 * LP_FIRST_SLICE_CHARS, later ones sized to take about SLICE_MS (src/http/line-slices.ts).
 */
const LP_WHOLE_BODY_CHARS = 128 * 1024;
const LP_FIRST_SLICE_CHARS = 16 * 1024;
const LP_MIN_SLICE_CHARS = 4 * 1024;
const LP_MAX_SLICE_CHARS = 256 * 1024;

/**
 * Parses a line-protocol body slice by slice, yielding to the event loop between slices, with the
 * line numbers of errors counted over the whole body. Past `maxSamples` the request is refused
 * (413) before anything is stored. "Now" is fixed once, so every line without a timestamp gets
 * the same one whichever slice it is in.
 */
async function parseInSteps(ctx: AppContext, parts: readonly string[], precision: Precision | undefined, maxSamples: number): Promise<ParseResult & { points: number }> {
  const opts = { precision, defaultTimestampMs: ctx.now() };
  const samples: Sample[] = [];
  const errors: ItemError[] = [];
  let points = 0;
  let linesBefore = 0;
  const slicer = new LineSlicer(parts);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const sizer = new SliceSizer(total <= LP_WHOLE_BODY_CHARS ? Math.max(total, 1) : LP_FIRST_SLICE_CHARS, SLICE_MS, LP_MIN_SLICE_CHARS, LP_MAX_SLICE_CHARS);
  for (let slice = slicer.take(sizer.size); slice !== undefined; ) {
    const started = performance.now();
    const r = ctx.lineProtocol.parse(slice, opts);
    for (const s of r.samples) samples.push(s);
    for (const e of r.errors) errors.push(e.line > 0 ? { line: e.line + linesBefore, message: e.message } : e);
    points += r.points ?? 0;
    if (samples.length > maxSamples) throw tooManySamples(maxSamples);
    sizer.took(slice.length, performance.now() - started);
    const next = slicer.take(sizer.size);
    if (next !== undefined) {
      linesBefore += countLines(slice);
      await yieldToLoop();
    }
    slice = next;
  }
  return { samples, errors, points };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function precisionOf(raw: string[]): Precision | undefined {
  if (raw.length > 1) throw badRequest('precision must be given once');
  try {
    return parsePrecision(raw[0]);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

/** Runs a parser; a ValidationError is counted as a rejected request of that format, then rethrown. */
function rejectCounted<T>(ctx: AppContext, format: IngestFormat, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ValidationError) ctx.metrics.samplesRejected(format, 'invalid', 1);
    throw e;
  }
}
