/**
 * A load process for the benches: POSTs one file and prints `{"status":…,"ms":…}`. Sending a
 * 10 MiB body stalls the sender's own event loop, so a prober in the same process would count
 * the sender's stall as the agent's (bench/overload.ts runs its big bodies through this).
 *
 *   node build/bench/post-file.js <url> <file> <content-type>
 */

import fs from 'node:fs';
import http from 'node:http';

const [url, file, contentType] = process.argv.slice(2);
if (!url || !file || !contentType) throw new Error('usage: post-file.js <url> <file> <content-type>');
const body = fs.readFileSync(file);
const started = performance.now();
const req = http.request(url, { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(body.length) } }, (res) => {
  res.resume();
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, ms: performance.now() - started })));
});
req.on('error', (e) => console.log(JSON.stringify({ status: 0, ms: performance.now() - started, error: String(e) })));
req.end(body);
