/**
 * The authenticator of one agent, built from AUTH_MODE: what the HTTP layer asks for every request
 * whose route needs a scope. Token mode answers synchronously; kubernetes mode asks the API server
 * (TokenReview, SubjectAccessReview) and so may answer with a promise. Either way a denial is a
 * decision (401/403), never an exception; only an authenticator that cannot decide at all (the
 * API server is down) throws, and the HTTP layer turns that into 503.
 */

import { decideToken, type AccessDecision, type AuthMode } from './access';
import type { Scope, TokenStore } from './tokens';

export interface Authenticator {
  readonly mode: Exclude<AuthMode, 'none'>;
  /** Scopes that need a credential; a request for any other scope is let through without one. */
  readonly require: ReadonlySet<Scope>;
  /**
   * The decision for a request with this Authorization header on a route of this scope. The
   * header is never kept or logged. Throws (or rejects) only when no decision can be made.
   */
  check(authorization: string | undefined, scope: Scope): AccessDecision | Promise<AccessDecision>;
}

/** Thrown when no decision could be made (the API server did not answer); the HTTP layer answers 503 with Retry-After. */
export class AuthUnavailableError extends Error {
  override readonly name = 'AuthUnavailableError';
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

/** AUTH_MODE=token: bearer tokens from AUTH_TOKENS_FILE. */
export class TokenAuthenticator implements Authenticator {
  readonly mode = 'token';

  constructor(readonly require: ReadonlySet<Scope>, private readonly tokens: TokenStore) {}

  /** Tokens loaded from the file now. */
  get tokenCount(): number {
    return this.tokens.size;
  }

  check(authorization: string | undefined, scope: Scope): AccessDecision {
    return decideToken(authorization, scope, { require: this.require, tokens: this.tokens });
  }
}
