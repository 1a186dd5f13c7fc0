/**
 * The authentication step of the HTTP app: the route's scope from the route table, the
 * authenticator's decision, and on refusal the one error mapping (401/403 with a Bearer
 * challenge, see errors.ts). It runs after CORS and the rate limiter, so a refusal carries the
 * CORS headers a browser page needs to read it, and guessing tokens costs rate-limit tokens.
 */

import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../auth/authenticator';
import { readCredential, type AccessDecision, type DenyReason } from '../auth/access';
import type { Identity } from '../auth/tokens';
import { authDenied } from './errors';
import type { Route } from './routes-table';

const IDENTITY = Symbol('metrics-manager.identity');

/** Who sent this request, when it carried a credential that was checked and accepted. */
export function identityOf(req: IncomingMessage): Identity | undefined {
  return (req as unknown as Record<symbol, Identity | undefined>)[IDENTITY];
}

/**
 * Checks one request against the row that will serve it (the dispatcher's match, which also
 * covers case, trailing-slash and HEAD variants of a path, so none reaches a handler unchecked).
 * `done()` when it may go on (the identity, if any, is attached to the
 * request), `done(err)` with the error to answer otherwise. A refused request's body is drained
 * unread so the connection can carry the answer. Requests of no table row (404/405 answers,
 * OPTIONS) and routes of scope `none` (probes) are never checked.
 */
export function checkAccess(
  auth: Authenticator | undefined,
  route: Route | undefined,
  req: IncomingMessage,
  denied: (route: string, reason: DenyReason) => void,
  done: (err?: unknown) => void,
): void {
  if (auth === undefined || route === undefined || route.scope === 'none' || !auth.require.has(route.scope)) return done();
  const scope = route.scope;
  const apply = (d: AccessDecision) => {
    if (d.ok) {
      if (d.identity !== undefined) (req as unknown as Record<symbol, Identity>)[IDENTITY] = d.identity;
      return done();
    }
    denied(route.path, d.reason);
    req.resume();
    done(authDenied(d, scope));
  };
  let d: AccessDecision | Promise<AccessDecision>;
  try {
    d = auth.check(readCredential(req.headers.authorization, req.headers.cookie, scope), scope);
  } catch (err) {
    req.resume();
    return done(err);
  }
  if (d instanceof Promise) {
    d.then(apply, (err: unknown) => {
      req.resume();
      done(err);
    });
  } else {
    apply(d);
  }
}
