/** GET /api/v1/capabilities: what the agent reads and forwards, and why anything is missing. */

import { Router } from 'express';
import type { CapabilityProfile } from '../../capabilities/capabilities';
import type { AppContext } from '../context';
import { HttpError } from '../errors';

export function capabilitiesRouter(ctx: AppContext): Router {
  const r = Router();
  r.get('/api/v1/capabilities', (req, res) => {
    // The reference's two profiles; anything else is a 422 as there. Both give the same body here.
    const p = req.query.profile ?? 'minimal';
    if (p !== 'minimal' && p !== 'expanded') {
      throw new HttpError(422, 'invalid_profile', `profile must be minimal or expanded, got ${JSON.stringify(p)}`);
    }
    // Built per request from state the parts already hold: cheap, and never stale.
    res.setHeader('Cache-Control', 'no-store');
    res.json(ctx.capabilities ? ctx.capabilities(p as CapabilityProfile) : { collectors: [], sources: [], devices: [], sinks: [] });
  });
  return r;
}
