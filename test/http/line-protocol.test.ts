import assert from 'node:assert/strict';
import { InfluxDB, Point, setLogger } from '@influxdata/influxdb-client';
import { postText, startAgent, type RunningAgent } from '../helpers/agent';

interface Listed { metrics: Array<{ name: string; fields: { value: number }; tags: Record<string, string>; timestamp: number }> }

describe('HTTP line protocol', () => {
  let a: RunningAgent;
  before(async () => {
    a = await startAgent({ RATE_LIMIT_ENABLED: 'false' });
  });
  after(() => a.stop());
  beforeEach(() => a.agent.store.clear());

  const list = async (q = '') => ((await (await fetch(`${a.url}/api/v1/metrics${q}`)).json()) as Listed).metrics;

  it('/api/v1/metrics/influx stores good lines, reports bad ones with line numbers (202)', async () => {
    const body = [
      'cpu_usage,host=server1,cpu=cpu0 usage=45.2 1704067200000000000',
      'this line is bad',
      '# a comment',
      'fps,pipeline=detection value=29.97',
      '',
      'mem,host=server1 used_percent=notanumber',
    ].join('\n');
    const r = await postText(`${a.url}/api/v1/metrics/influx`, body);
    assert.equal(r.status, 202);
    const j = (await r.json()) as { accepted: number; errors: string[] };
    assert.equal(j.accepted, 2);
    assert.equal(j.errors.length, 2);
    assert.match(j.errors[0], /^line 2: /);
    assert.match(j.errors[1], /^line 6: /);
    const names = (await list()).map((m) => m.name).sort();
    assert.deepEqual(names, ['cpu_usage_usage', 'fps']);
  });

  it('/api/v1/metrics/influx with only bad lines is a 400 listing them', async () => {
    const r = await postText(`${a.url}/api/v1/metrics/influx`, 'bad\nworse line');
    assert.equal(r.status, 400);
    const j = (await r.json()) as { message: string; errors: string[] };
    assert.match(j.message, /No valid metrics/);
    assert.equal(j.errors.length, 2);
  });

  it('/write answers 204 and honours ?precision', async () => {
    const r = await postText(`${a.url}/write?db=ignored&rp=ignored&precision=s`, 'cpu,host=server1 usage=45.2 1704067200');
    assert.equal(r.status, 204);
    const m = await list('?name=cpu_usage');
    assert.equal(m.length, 1);
    assert.equal(m[0].timestamp, 1704067200);
    for (const [p, ts, want] of [['ms', '1704067200123', 1704067200.123], ['u', '1704067200123456', 1704067200.123456], ['ns', '1704067200000000000', 1704067200], ['m', '28401120', 1704067200], ['h', '473352', 1704067200]] as const) {
      a.agent.store.clear();
      assert.equal((await postText(`${a.url}/write?precision=${p}`, `p v=1 ${ts}`)).status, 204);
      const got = (await list('?name=p_v'))[0].timestamp;
      assert.ok(Math.abs(got - want) < 1e-6, `${p}: ${got} vs ${want}`);
    }
  });

  it('/write with a bad precision is a 400', async () => {
    const r = await postText(`${a.url}/write?precision=weeks`, 'cpu v=1');
    assert.equal(r.status, 400);
  });

  it('/write partial write: 400 naming the first error, good lines kept', async () => {
    const r = await postText(`${a.url}/write`, 'ok v=1\nbad line here\nok2 v=2\nalso bad');
    assert.equal(r.status, 400);
    const j = (await r.json()) as { error: string };
    assert.match(j.error, /^partial write: line 2: .* dropped=2$/);
    assert.deepEqual((await list()).map((m) => m.name).sort(), ['ok2_v', 'ok_v']);
  });

  it('/write reports samples the store refused (type conflict) instead of a silent 204', async () => {
    a.agent.hub.accept({ origin: 'custom', format: 'otlp', samples: [{ name: 'lat_count', family: 'lat', labels: {}, value: 1, type: 'histogram' }] });
    const r = await postText(`${a.url}/write`, 'lat value=1\nother value=2');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /partial write: .*family "lat" is already a histogram.* dropped=1/);
    assert.deepEqual((await list('?name=other')).length, 1, 'the good sample is kept');
  });

  it('/write with invalid UTF-8 is a 400', async () => {
    const r = await postText(`${a.url}/write`, Buffer.from([0x63, 0x20, 0x76, 0x3d, 0x31, 0xc3]));
    assert.equal(r.status, 400);
  });

  it('the InfluxDB JS client writes through /api/v2/write and the data reads back', async () => {
    const client = new InfluxDB({ url: a.url, token: 'unused' });
    const write = client.getWriteApi('org', 'bucket', 'ns', { maxRetries: 0, flushInterval: 0 });
    write.useDefaultTags({ node: 'n1' });
    const t = new Date('2024-01-01T00:00:00Z');
    write.writePoint(new Point('inference').tag('model', 'yolo v8').floatField('latency_ms', 23.5).intField('frames', 42).booleanField('ok', true).stringField('note', 'a, b c').timestamp(t));
    write.writePoint(new Point('gpu').tag('card', 'card0').uintField('freq', 1200).timestamp(t));
    await write.close();
    const m = await list();
    const byName = Object.fromEntries(m.map((x) => [x.name, x]));
    assert.equal(byName.inference_latency_ms.fields.value, 23.5);
    assert.equal(byName.inference_frames.fields.value, 42);
    assert.equal(byName.inference_ok.fields.value, 1);
    assert.equal(byName.gpu_freq.fields.value, 1200);
    assert.deepEqual(byName.inference_latency_ms.tags, { model: 'yolo v8', node: 'n1' });
    assert.equal(byName.inference_latency_ms.timestamp, 1704067200);
    assert.equal(byName.inference_note, undefined, 'string fields are not samples');
  });

  it('the InfluxDB JS client sees a partial write as an error', async () => {
    const errors: string[] = [];
    const previous = setLogger({ error: (msg: string) => errors.push(msg), warn: () => {} });
    try {
      const client = new InfluxDB({ url: a.url, token: 'unused' });
      const write = client.getWriteApi('org', 'bucket', 'ns', { maxRetries: 0 });
      write.writeRecord('bad record without fields');
      await assert.rejects(write.close(), /partial write|400/);
      assert.ok(errors.length > 0, 'the client logged the failed write');
    } finally {
      setLogger(previous);
    }
  });
});
