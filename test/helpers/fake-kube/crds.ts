/**
 * Structural schemas for the FAKE API server, taken from real CRD files: ours
 * (crds/metricsmanagerconfig.yaml) and trimmed copies of the prometheus-operator's
 * (test/fixtures/crds/). Each becomes a validator that applies the schema's defaults and prunes
 * unknown fields before checking, as the real server does on every write.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { crdValidator } from '../../controller/crd-schema';
import { repoRoot } from '../../controller/repo';

/** A defaulting, pruning validator for one version of the CRD in `file` (relative to the repository). */
export function crdSchema(file: string, version: string): ValidateFunction {
  const crd = parse(readFileSync(path.join(repoRoot(), file), 'utf8')) as Record<string, unknown>;
  return crdValidator(crd, version, { useDefaults: true, prune: true });
}
