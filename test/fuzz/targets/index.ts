/** Every fuzz target, by name. Add a target here and a seed corpus in test/fuzz/corpus/<name>/. */

import type { FuzzTarget } from '../engine';
import { crdSpec } from './crd-spec';
import { componentReport, jsonPush } from './json-push';
import { lineProtocol } from './line-protocol';
import { otlpJson, otlpProtobuf } from './otlp';
import { prometheusText } from './prometheus-text';
import { remoteWrite } from './remote-write';
import { snappy } from './snappy';
import { spool } from './spool';

export const TARGETS: readonly FuzzTarget[] = [lineProtocol, otlpProtobuf, otlpJson, jsonPush, componentReport, prometheusText, snappy, remoteWrite, spool, crdSpec];

export function targetByName(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}" (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
