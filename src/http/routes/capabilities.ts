/** GET /api/v1/capabilities: what the agent reads and forwards, and why anything is missing. */

import type { CapabilityProfile } from '../../capabilities/capabilities';
import type { AppContext } from '../context';
import { HttpError } from '../errors';
import { sendJson, type RouteHandlers } from '../respond';

export function capabilitiesRoutes(ctx: AppContext): RouteHandlers {
  return [['GET /api/v1/capabilities', (_req, res, query) => {
    // The reference's two profiles; anything else is a 422 as there. Both give the same body here.
    const given = query.getAll('profile');
    const p = given.length === 0 ? 'minimal' : given.length === 1 ? given[0] : given;
    if (p !== 'minimal' && p !== 'expanded') {
      throw new HttpError(422, 'invalid_profile', `profile must be minimal or expanded, got ${JSON.stringify(p)}`);
    }
    // Built per request from state the parts already hold: cheap, and never stale.
    res.setHeader('Cache-Control', 'no-store');
    sendJson(res, 200, ctx.capabilities ? ctx.capabilities(p as CapabilityProfile) : { collectors: [], sources: [], devices: [], sinks: [] });
  }]];
}
