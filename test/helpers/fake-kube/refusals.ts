/** Assertions on what the FAKE API server refuses, shared by the schema tests. */

import assert from 'node:assert/strict';
import { httpStatus, type KubeApi } from '../../../src/kube/client';

/** The response body of a failed client-node call, as text. */
export function errorBody(e: unknown): string {
  return String((e as { body?: unknown }).body);
}

/** `refused(plural, obj, field)`: creating `obj` is a 422 whose body matches `field`. */
export function expect422(api: () => KubeApi, group: string, version: string, namespace: string) {
  return (plural: string, obj: Record<string, unknown>, field: RegExp) =>
    assert.rejects(api().createCustom(group, version, plural, namespace, obj), (e: unknown) => {
      assert.equal(httpStatus(e), 422, errorBody(e));
      assert.match(errorBody(e), field);
      return true;
    });
}
