import assert from 'node:assert/strict';
import { desiredMonitor, MONITOR_KINDS } from '../../src/controller/monitors';

describe('controller: the monitors it registers', () => {
  const owner = { metadata: { name: 'gpu-nodes', namespace: 'team-a', uid: 'u-1' } };
  const agents = { namespace: 'mm', labels: { app: 'mm' }, portName: 'http', monitorLabels: { release: 'kps', team: 'platform' } };

  it('carry the default monitor labels (DEFAULT_MONITOR_LABELS); spec labels win, ownership labels always', () => {
    for (const kind of MONITOR_KINDS) {
      const m = desiredMonitor(kind, owner, { mode: 'Auto', interval: '15s', labels: { team: 'ml' } }, agents, 'rel-1') as { metadata: { labels: Record<string, string> } };
      assert.equal(m.metadata.labels.release, 'kps', kind.kind);
      assert.equal(m.metadata.labels.team, 'ml', `${kind.kind}: the config's own label wins`);
      assert.equal(m.metadata.labels['app.kubernetes.io/instance'], 'rel-1');
    }
    const plain = desiredMonitor(MONITOR_KINDS[0], owner, { mode: 'Auto', interval: '15s', labels: {} }, { ...agents, monitorLabels: undefined }, 'rel-1') as { metadata: { labels: Record<string, string> } };
    assert.equal(plain.metadata.labels.release, undefined);
  });
});
