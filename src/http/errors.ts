/**
 * The one place where errors become HTTP statuses. Routes and parsers throw; the error handler in
 * app.ts calls `toHttpError` and writes `{error, message, errors?}`. Anything unclassified is a
 * 500 and is logged: for bad input that is a bug to fix here, not in the route.
 */

import { AuthUnavailableError } from '../auth/authenticator';
import { ValidationError } from '../model/names';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** Stable, machine-readable code (snake_case). */
    readonly code: string,
    message: string,
    /** Per-item problems, e.g. `line 3: missing field set`. */
    readonly errors?: string[],
    /** Sent as Retry-After (503, 429). */
    readonly retryAfterSeconds?: number,
    /** Sent as WWW-Authenticate (401, 403 of the auth check). */
    readonly challenge?: string,
  ) {
    super(message);
  }
}

export const badRequest = (msg: string, errors?: string[]) => new HttpError(400, 'bad_request', msg, errors);
export const unprocessable = (msg: string, errors?: string[]) => new HttpError(422, 'invalid_metrics', msg, errors);
export const notFound = (msg: string) => new HttpError(404, 'not_found', msg);
export const unsupportedMediaType = (msg: string) => new HttpError(415, 'unsupported_media_type', msg);
export const tooLarge = (limit: number) =>
  new HttpError(413, 'body_too_large', `request body is larger than the limit of ${limit} bytes`);

/** A request that would make more samples than MAX_SAMPLES_PER_REQUEST allows; nothing of it is stored. */
export const tooManySamples = (limit: number) =>
  new HttpError(413, 'too_many_samples', `request has more than ${limit} samples (MAX_SAMPLES_PER_REQUEST); nothing was stored, split it into smaller requests`);

/** The realm named in WWW-Authenticate challenges. */
export const AUTH_REALM = 'metrics-manager';

/** RFC 6750 §3.1 error codes by our denial reasons. */
const BEARER_ERROR: Record<string, string | undefined> = {
  missing_credentials: undefined, // no error attribute when no credential was sent at all
  malformed_credentials: 'invalid_request',
  invalid_token: 'invalid_token',
  missing_scope: 'insufficient_scope',
};

/**
 * A refused credential (src/auth/access.ts): 401 or 403 with a Bearer challenge (RFC 6750 §3):
 * the realm, and for a credential that was sent, the error code, a description and the scope
 * needed. The body's `error` is the reason, so a client can tell a missing token from a bad one.
 */
export function authDenied(d: { status: 401 | 403; reason: string; message: string }, scope: string): HttpError {
  const params = [`realm="${AUTH_REALM}"`];
  const code = BEARER_ERROR[d.reason];
  if (code !== undefined) params.push(`error="${code}"`, `error_description="${d.message.replace(/["\\]/g, "'")}"`);
  if (d.status === 403 || d.reason === 'missing_credentials') params.push(`scope="${scope}"`);
  return new HttpError(d.status, d.reason, d.message, undefined, undefined, `Bearer ${params.join(', ')}`);
}

/** The authenticator could not reach a decision (the API server did not answer): fail closed, retry later. */
export const authUnavailable = (msg: string, retryAfterSeconds: number) =>
  new HttpError(503, 'auth_unavailable', msg, undefined, retryAfterSeconds);

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ValidationError) return unprocessable(err.message, err.details);
  if (err instanceof AuthUnavailableError) return authUnavailable(err.message, err.retryAfterSeconds);
  // Errors that carry their own 4xx status (and maybe a dotted type), e.g. from a library's parser.
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return new HttpError(status, typeof e.type === 'string' ? e.type.replace(/\./g, '_') : 'bad_request', String(e.message ?? 'bad request'));
  }
  return new HttpError(500, 'internal_error', 'internal error');
}

export function errorBody(e: HttpError): Record<string, unknown> {
  const body: Record<string, unknown> = { error: e.code, message: e.message };
  if (e.errors && e.errors.length > 0) body.errors = e.errors;
  return body;
}
