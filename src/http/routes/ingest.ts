/**
 * Push endpoints: simple JSON, JSON batch, line protocol (our route and the InfluxDB-compatible
 * /write and /api/v2/write), and the component report API. Each reads its body with the size
 * limit, parses it with a pure format module, and hands the samples to the hub.
 */

import { Router, type Request, type Response } from 'express';
import { parseReport } from '../../formats/component-report/parse';
import { parseLineProtocol } from '../../formats/influx/parse';
import { parseBatch, parseSimple } from '../../formats/json/parse';
import { ValidationError } from '../../model/names';
import type { ItemError, Sample } from '../../model/sample';
import { parsePrecision, type Precision } from '../../model/time';
import type { WriteResult } from '../../store/series-store';
import type { IngestFormat } from '../../telemetry/self-metrics';
import { decodeUtf8, isJsonType, mediaType, readBody } from '../body';
import type { AppContext } from '../context';
import { badRequest, HttpError, unprocessable, unsupportedMediaType } from '../errors';

/** Reads and parses a JSON body; wrong content type → 415, bad JSON → 400 naming the position. */
export async function readJson(req: Request, maxBytes: number): Promise<unknown> {
  const mt = mediaType(req);
  if (!isJsonType(mt)) {
    req.resume();
    throw unsupportedMediaType(`Content-Type ${JSON.stringify(mt)} is not JSON; send application/json`);
  }
  const text = decodeUtf8(await readBody(req, maxBytes));
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

/** Storage problems the client should hear about even on success (type conflicts). */
function storeNotes(res: WriteResult): string[] {
  return res.typeConflicts > 0 ? [`${res.typeConflicts} sample(s) refused: ${res.firstConflict}`] : [];
}

export function ingestRouter(ctx: AppContext): Router {
  const r = Router();
  const cfg = () => ctx.config.get();

  const store = (samples: Sample[], format: IngestFormat): WriteResult => ctx.hub.accept({ samples, origin: 'custom', format });

  /** A JSON route whose whole request was refused because of its type conflicts. */
  const checkStored = (res: WriteResult, wanted: number) => {
    if (wanted > 0 && res.stored === 0 && res.typeConflicts > 0) throw unprocessable(res.firstConflict ?? 'type conflict');
  };

  r.post('/api/v1/metrics/simple', async (req, res) => {
    const body = await readJson(req, cfg().maxBodyBytes);
    const sample = rejectCounted(ctx, 'simple', () => parseSimple(body));
    const out = store([sample], 'simple');
    checkStored(out, 1);
    res.status(202).json({ accepted: 1, message: `Accepted metric '${sample.name}'`, errors: storeNotes(out) });
  });

  r.post('/api/v1/metrics', async (req, res) => {
    const body = await readJson(req, cfg().maxBodyBytes);
    const { samples, points } = rejectCounted(ctx, 'json', () => parseBatch(body, cfg().maxBatchSize));
    const out = store(samples, 'json');
    checkStored(out, samples.length);
    res.status(202).json({ accepted: points, message: `Accepted ${points} metrics`, errors: storeNotes(out) });
  });

  r.post('/api/metrics/report', async (req, res) => {
    const body = await readJson(req, cfg().maxBodyBytes);
    const samples = rejectCounted(ctx, 'report', () => parseReport(body, cfg().maxBatchSize));
    const out = store(samples, 'report');
    checkStored(out, samples.length);
    res.status(202).json({ accepted: samples.length, message: `Accepted ${samples.length} metrics`, errors: storeNotes(out) });
  });

  /** Line protocol: good lines are stored even when others are bad. */
  const lineProtocol = async (req: Request, format: IngestFormat, precisionParam: unknown) => {
    const precision = precisionOf(precisionParam);
    const text = decodeUtf8(await readBody(req, cfg().maxBodyBytes));
    const parsed = parseLineProtocol(text, { precision });
    ctx.metrics.samplesRejected(format, 'parse', parsed.errors.length);
    const out = store(parsed.samples, format);
    return { parsed, out, lines: parsed.points ?? 0 };
  };

  r.post('/api/v1/metrics/influx', async (req, res) => {
    const { parsed, out, lines } = await lineProtocol(req, 'influx', req.query.precision);
    const errors = [...formatItemErrors(parsed.errors), ...storeNotes(out)];
    if (lines === 0 && parsed.errors.length > 0) throw badRequest('No valid metrics found in input', errors);
    res.status(202).json({ accepted: lines, message: `Accepted ${lines} metrics`, errors });
  });

  // InfluxDB 1.x: 204 when everything was written; a partial write is a 400 whose `error` names
  // the first bad line (the good lines are kept), as InfluxDB itself answers.
  // Samples refused by the store (type conflicts) make a partial write too: a 204 would claim them.
  const firstProblem = (parsed: { errors: ItemError[] }, out: WriteResult) =>
    parsed.errors.length > 0 ? formatItemErrors(parsed.errors, 1)[0] : out.firstConflict;

  r.post('/write', async (req, res) => {
    const { parsed, out } = await lineProtocol(req, 'write', req.query.precision);
    const first = firstProblem(parsed, out);
    if (first !== undefined) {
      res.status(400).json({ error: `partial write: ${first} dropped=${parsed.errors.length + out.typeConflicts}` });
      return;
    }
    res.status(204).end();
  });

  // InfluxDB 2.x write API (what @influxdata/influxdb-client uses); org and bucket are ignored.
  r.post('/api/v2/write', async (req, res) => {
    const { parsed, out, lines } = await lineProtocol(req, 'write', req.query.precision);
    const first = firstProblem(parsed, out);
    if (first !== undefined) {
      res.status(400).json({ code: 'invalid', message: `partial write error (${lines} written): ${first}` });
      return;
    }
    res.status(204).end();
  });

  return r;
}

function precisionOf(raw: unknown): Precision | undefined {
  if (raw !== undefined && typeof raw !== 'string') throw badRequest('precision must be given once');
  try {
    return parsePrecision(raw);
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
