/** Which config governs which node: selector semantics and the overlap rule. */

import assert from 'node:assert/strict';
import type { LabelSelector } from '../../src/kube/resources';
import { assignNodes, configForNode, selectorMatches } from '../../src/kube/selection';

function cfg(ns: string, name: string, created: string, nodeSelector?: LabelSelector, deleting = false) {
  return { metadata: { namespace: ns, name, creationTimestamp: created, ...(deleting ? { deletionTimestamp: created } : {}) }, spec: { nodeSelector } };
}

describe('config selection', () => {
  it('label selector semantics: matchLabels and In / NotIn / Exists / DoesNotExist, all ANDed', () => {
    const labels = { pool: 'gpu', zone: 'a' };
    assert.equal(selectorMatches(undefined, labels), true);
    assert.equal(selectorMatches({}, labels), true);
    assert.equal(selectorMatches({ matchLabels: { pool: 'gpu' } }, labels), true);
    assert.equal(selectorMatches({ matchLabels: { pool: 'cpu' } }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'other', operator: 'NotIn', values: ['a'] }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'pool', operator: 'Exists' }] }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'pool', operator: 'DoesNotExist' }] }, labels), false);
    assert.equal(selectorMatches({ matchLabels: { pool: 'gpu' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'pool', operator: 'Bogus' as 'In', values: ['gpu'] }] }, labels), false, 'malformed matches nothing');
  });

  it('overlap: the oldest config wins; equal timestamps go to namespace, then name; deleting configs do not count', () => {
    const older = cfg('z', 'older', '2024-01-01T00:00:00Z');
    const newer = cfg('a', 'newer', '2024-01-01T00:00:01Z');
    assert.equal(configForNode({}, [newer, older]), older);
    const tieA = cfg('a', 'x', '2024-01-01T00:00:00Z');
    const tieB = cfg('b', 'a', '2024-01-01T00:00:00Z');
    assert.equal(configForNode({}, [tieB, tieA]), tieA, 'namespace first');
    const tieC = cfg('a', 'w', '2024-01-01T00:00:00Z');
    assert.equal(configForNode({}, [tieA, tieC]), tieC, 'then name');
    assert.equal(configForNode({}, [cfg('a', 'gone', '2023-01-01T00:00:00Z', undefined, true), newer]), newer);
    assert.equal(configForNode({ pool: 'cpu' }, [cfg('a', 'gpu', '2024-01-01T00:00:00Z', { matchLabels: { pool: 'gpu' } })]), undefined);
  });

  it('assignNodes: who governs what, and who is shadowed by whom', () => {
    const all = cfg('ns', 'all', '2024-01-01T00:00:00Z', {});
    const gpu = cfg('ns', 'gpu', '2024-01-02T00:00:00Z', { matchLabels: { pool: 'gpu' } });
    const npu = cfg('ns', 'npu', '2023-12-01T00:00:00Z', { matchLabels: { pool: 'npu' } });
    const nodes: { name: string; labels: Record<string, string> }[] = [{ name: 'g1', labels: { pool: 'gpu' } }, { name: 'n1', labels: { pool: 'npu' } }, { name: 'c1', labels: {} }];
    const a = assignNodes(nodes, [gpu, all, npu]);
    assert.deepEqual(a.get(npu), { governs: ['n1'], shadowed: [] });
    assert.deepEqual(a.get(all)!.governs, ['g1', 'c1']);
    assert.deepEqual(a.get(all)!.shadowed.map((s) => [s.node, s.by.metadata.name]), [['n1', 'npu']]);
    assert.deepEqual(a.get(gpu)!.governs, []);
    assert.deepEqual(a.get(gpu)!.shadowed.map((s) => [s.node, s.by.metadata.name]), [['g1', 'all']]);
  });
});
