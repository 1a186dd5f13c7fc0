/**
 * OTLP/HTTP metrics: the standard path POST /v1/metrics (200 + ExportMetricsServiceResponse) and
 * the reference's POST /api/v1/metrics/otlp (202 + {accepted, message}). Both take protobuf or
 * JSON, gzip or not, and answer in the encoding of the request, errors included (a protobuf
 * google.rpc.Status for protobuf clients), as the OTLP specification asks.
 */

import { decodeResourceMetrics, encodeExportMetricsResponse, exportMetricsResponseJson } from '../../formats/otlp/protobuf';
import { OtlpConverter } from '../../formats/otlp/convert';
import { ValidationError } from '../../model/names';
import { mediaType, readBody, readText } from '../body';
import type { AppContext } from '../context';
import { badRequest, errorBody, HttpError, toHttpError, tooManySamples, unsupportedMediaType } from '../errors';
import { acceptInSteps, SliceClock } from '../steps';
import { sendBytes, sendJson, type Handler, type PlainRequest, type RouteHandlers } from '../respond';
import { formatItemErrors } from './ingest';

type Encoding = 'protobuf' | 'json';

function encodingOf(req: PlainRequest): Encoding {
  const mt = mediaType(req);
  if (mt === 'application/x-protobuf' || mt === 'application/protobuf') return 'protobuf';
  if (mt === 'application/json' || mt === '') return 'json';
  throw unsupportedMediaType(`Content-Type ${JSON.stringify(mt)} is not OTLP; send application/x-protobuf or application/json`);
}

const PROTOBUF = 'application/x-protobuf';

/** The gRPC status code matching an HTTP error status (OTLP error bodies carry one). */
function grpcCode(httpStatus: number): number {
  if (httpStatus === 413) return 11; // OUT_OF_RANGE
  if (httpStatus === 429) return 8; // RESOURCE_EXHAUSTED
  if (httpStatus === 503) return 14; // UNAVAILABLE: the client retries
  return 3; // INVALID_ARGUMENT
}

/** google.rpc.Status { int32 code = 1; string message = 2; }. */
function encodeStatus(httpStatus: number, message: string): Buffer {
  const code = grpcCode(httpStatus);
  const msg = Buffer.from(message, 'utf8');
  const len: number[] = [];
  for (let n = msg.length; ; n >>>= 7) {
    if (n < 0x80) { len.push(n); break; }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x08, code, 0x12, ...len]), msg]);
}

/**
 * The resourceMetrics list of a JSON request (camelCase or snake_case, as the converter reads
 * them); a request that is not an object, or whose list is not an array, is a 400.
 */
function resourceList(request: unknown): unknown[] {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw badRequest('an OTLP metrics request must be an object with resourceMetrics');
  }
  const o = request as Record<string, unknown>;
  const list = o.resourceMetrics !== undefined ? o.resourceMetrics : o.resource_metrics;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw badRequest('resourceMetrics must be an array');
  return list as unknown[];
}

/** OTLP routes by path (POST), run on plain node objects (see respond.ts). */
export function otlpRoutes(ctx: AppContext): RouteHandlers {
  const handle = (standard: boolean): Handler => async (req, res, _query, budget) => {
    let enc: Encoding = 'json';
    try {
      enc = encodingOf(req);
      const maxSamples = ctx.config.get().maxSamplesPerRequest;
      const converter = new OtlpConverter();
      const clock = new SliceClock();
      const tooMany = () => {
        if (converter.sampleCount > maxSamples) throw tooManySamples(maxSamples);
      };
      if (enc === 'protobuf') {
        // One resourceMetrics decoded, converted and dropped at a time, with yields between slices.
        const parts = decodeResourceMetrics(await readBody(req, budget.maxBodyBytes, budget.ticket));
        for (let i = 0; ; i++) {
          let next: IteratorResult<unknown>;
          try {
            next = parts.next();
          } catch (e) {
            throw badRequest(`request body is not a valid OTLP ExportMetricsServiceRequest: ${(e as Error).message}`);
          }
          if (next.done) break;
          converter.add(next.value, i);
          tooMany();
          await clock.pace();
        }
      } else {
        const text = await readText(req, budget.maxBodyBytes, budget.ticket);
        let request: unknown;
        try {
          request = text.trim() === '' ? {} : JSON.parse(text);
        } catch (e) {
          throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(e as Error).message}`);
        }
        const resources = resourceList(request);
        for (let i = 0; i < resources.length; i++) {
          converter.add(resources[i], i);
          resources[i] = undefined; // let each converted resource be collected
          tooMany();
          await clock.pace();
        }
      }
      const converted = converter.result();
      const { samples, errors, rejectedDataPoints } = converted;
      ctx.metrics.samplesRejected('otlp', 'invalid', rejectedDataPoints);
      const out = await acceptInSteps(ctx, samples, 'otlp', budget.identity, req.socket.remoteAddress);
      const rejected = rejectedDataPoints + out.typeConflicts + out.quotaRefused;
      const messages = formatItemErrors(errors, 20);
      if (out.firstConflict) messages.push(out.firstConflict);
      if (out.firstQuota) messages.push(out.firstQuota);

      if (!standard && out.stored === 0 && rejected > 0) throw badRequest('No valid metrics found in OTLP input', messages);
      const partial = { rejectedDataPoints: rejected, errorMessage: rejected > 0 ? messages.join('; ') : '' };
      const status = standard ? 200 : 202;
      if (enc === 'protobuf') sendBytes(res, status, PROTOBUF, encodeExportMetricsResponse(partial));
      else if (standard) sendJson(res, status, exportMetricsResponseJson(partial));
      else sendJson(res, status, { accepted: out.stored, message: `Accepted ${out.stored} samples`, errors: messages, ...(rejected > 0 ? { partialSuccess: partial } : {}) });
    } catch (err) {
      const e = toHttpError(err);
      if (e.status >= 500 && e.status !== 503) throw err;
      if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
      if (enc === 'protobuf') sendBytes(res, e.status, PROTOBUF, encodeStatus(e.status, e.message));
      else sendJson(res, e.status, standard ? { code: grpcCode(e.status), message: e.message } : errorBody(e));
    }
  };

  return [
    ['POST /v1/metrics', handle(true)],
    ['POST /api/v1/metrics/otlp', handle(false)],
  ];
}
