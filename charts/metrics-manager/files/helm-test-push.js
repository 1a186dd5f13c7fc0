// `helm test`: push one metric through the node-local Service and read it back, then delete it.
// Runs with `node -e` in the metrics-manager image (Node 20: fetch built in, no curl needed).
(async () => {
  const base = process.env.TARGET_URL;
  const run = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const value = Math.round(Math.random() * 1e6) / 100;
  const selector = encodeURIComponent(`helm_test_probe{run="${run}"}`);
  const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  let res;
  try {
    res = await fetch(`${base}/api/v1/metrics/simple`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'helm_test_probe', value, tags: { run, source: 'helm-test' } }),
    });
  } catch (e) {
    fail(`cannot reach ${base}: ${e.cause?.message ?? e.message} (is an agent running on this node?)`);
  }
  if (res.status !== 202) fail(`push answered ${res.status}: ${await res.text()}`);
  console.log(`pushed helm_test_probe{run="${run}"} = ${value}`);

  for (let attempt = 1; attempt <= 10; attempt++) {
    const got = await fetch(`${base}/api/v1/metrics?match=${selector}`);
    if (got.status !== 200) fail(`read answered ${got.status}: ${await got.text()}`);
    const body = await got.json();
    const m = (body.metrics ?? [])[0];
    if (m && Number(m.fields?.value) === value) {
      console.log(`read back ${m.name}{run="${m.tags?.run}"} = ${m.fields.value}`);
      await fetch(`${base}/api/v1/metrics?match=${selector}`, { method: 'DELETE' });
      console.log('PASS');
      process.exit(0);
    }
    await sleep(500);
  }
  fail('the pushed metric was not readable within 5 s');
})().catch((e) => { console.error(`FAIL: ${e.stack ?? e}`); process.exit(1); });
