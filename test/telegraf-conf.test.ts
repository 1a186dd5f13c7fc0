/**
 * telegraf/telegraf.conf must agree with the agent's defaults: the agent scrapes and forwards to the
 * ports and paths configured there, and Telegraf must export what the built-in collectors would.
 * The file is parsed as TOML (Telegraf's own syntax), with `${VAR:-default}` resolved as Telegraf
 * resolves it when the variable is unset.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig } from '../src/config/load';
import type { Config } from '../src/config/schema';

type Table = Record<string, unknown>;

/** telegraf/telegraf.conf of the repository, found upwards from the compiled test (build/test, .tmp/…). */
function confPath(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const p = join(dir, 'telegraf', 'telegraf.conf');
    if (existsSync(p) && existsSync(join(dir, 'package.json'))) return p;
    if (dirname(dir) === dir) throw new Error(`telegraf/telegraf.conf not found above ${__dirname}`);
  }
}

/** Fields the built-in cpu collector emits per core and in total. */
const BUILTIN_CPU_FIELDS = ['usage_user', 'usage_system', 'usage_idle', 'usage_nice', 'usage_iowait', 'usage_irq', 'usage_softirq', 'usage_steal', 'usage_guest', 'usage_guest_nice'];
/** Fields the built-in mem collector emits. */
const BUILTIN_MEM_FIELDS = ['total', 'used', 'available', 'used_percent', 'available_percent'];

/** Telegraf's env substitution with every variable unset: `${V:-d}` → d, `${V}` stays literally. */
function unsetEnv(s: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*):?-([^}]*)\}/g, (_m, _name: string, def: string) => def);
}

/** Telegraf filter globs (gobwas/glob without separators): `*`, `?`, `[…]`, `{a,b}`. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      re += glob.slice(i, end + 1).replace(/^\[!/, '[^');
      i = end;
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      re += '(?:' + glob.slice(i + 1, end).split(',').map(escapeRe).join('|') + ')';
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp('^' + re + '$');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matchesAny(globs: unknown, value: string): boolean {
  assert.ok(Array.isArray(globs), `expected an array of globs, got ${JSON.stringify(globs)}`);
  return (globs as string[]).some((g) => globToRegExp(g).test(value));
}

/** The one `[[section.name]]` instance; fails if there are none or several. */
function one(conf: Table, section: 'inputs' | 'outputs', name: string): Table {
  const list = (conf[section] as Table | undefined)?.[name];
  assert.ok(Array.isArray(list), `telegraf.conf has no [[${section}.${name}]]`);
  assert.equal(list.length, 1, `telegraf.conf has ${list.length} [[${section}.${name}]] sections`);
  return list[0] as Table;
}

function portOf(url: string): number {
  const u = new URL(url);
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

/** `:9273`, `0.0.0.0:9273`, `tcp://:9273` → 9273. */
function listenPort(address: unknown): number {
  assert.equal(typeof address, 'string');
  const m = /:(\d+)$/.exec(unsetEnv(address as string));
  assert.ok(m, `no port in ${JSON.stringify(address)}`);
  return Number(m[1]);
}

/** The host part of a listen address: `:9273` → '' (every interface), `tcp://127.0.0.1:9273` → 127.0.0.1. */
function listenHost(address: unknown): string {
  const m = /^(?:[a-z0-9]+:\/\/)?(.*):\d+$/.exec(unsetEnv(String(address)));
  assert.ok(m, `no host:port in ${JSON.stringify(address)}`);
  return m[1]!.replace(/^\[|\]$/g, '');
}

describe('telegraf/telegraf.conf', () => {
  let conf: Table;
  let text: string;
  let defaults: Config;

  before(async () => {
    // smol-toml is an ES module; this file is CommonJS, so load it with a real dynamic import.
    const { parse } = await import('smol-toml');
    text = readFileSync(confPath(), 'utf8');
    conf = parse(text) as Table;
    defaults = loadConfig({});
  });

  it('agent: 1 s interval, flush and precision, quiet, hostname from METRICS_MANAGER_HOSTNAME', () => {
    const agent = conf.agent as Table;
    assert.equal(agent.interval, '1s');
    assert.equal(agent.flush_interval, '1s');
    assert.equal(agent.precision, '1s');
    assert.equal(agent.quiet, true);
    assert.notEqual(agent.omit_hostname, true);
    // `${VAR}` alone would stay literally in place when unset; `${VAR:-}` becomes empty (= kernel hostname).
    assert.match(String(agent.hostname), /^\$\{METRICS_MANAGER_HOSTNAME:-\}$/);
    assert.equal(unsetEnv(String(agent.hostname)), '');
  });

  it('prometheus_client listens where PROMETHEUS_TELEGRAF_ENDPOINT points by default, v1 naming with timestamps', () => {
    const out = one(conf, 'outputs', 'prometheus_client');
    assert.equal(listenPort(out.listen), portOf(defaults.telegrafPrometheusEndpoint));
    assert.equal(listenHost(out.listen), '127.0.0.1', 'pod-internal: loopback only');
    // The source appends /metrics to the endpoint.
    const basePath = new URL(defaults.telegrafPrometheusEndpoint).pathname.replace(/\/+$/, '');
    assert.equal(out.path ?? '/metrics', basePath + '/metrics');
    assert.equal(out.metric_version, 1);
    assert.equal(out.export_timestamp, true);
    assert.equal(out.string_as_label, true);
    assert.deepEqual([...(out.collectors_exclude as string[])].sort(), ['gocollector', 'process']);
  });

  it('the listener serves the default TELEGRAF_HTTP_ENDPOINT (port and /write) with line protocol', () => {
    const endpoint = new URL(defaults.telegrafHttpEndpoint);
    const inputs = conf.inputs as Table;
    const influx = inputs.influxdb_listener as Table[] | undefined;
    const v2 = inputs.http_listener_v2 as Table[] | undefined;
    assert.equal((influx?.length ?? 0) + (v2?.length ?? 0), 1, 'exactly one listener');
    if (influx) {
      const l = influx[0];
      assert.equal(listenPort(l.service_address), portOf(defaults.telegrafHttpEndpoint));
      assert.equal(listenHost(l.service_address), '127.0.0.1', 'pod-internal: loopback only');
      // influxdb_listener's write route is fixed at /write.
      assert.equal(endpoint.pathname, '/write');
    } else {
      const l = v2![0];
      assert.equal(listenPort(l.service_address), portOf(defaults.telegrafHttpEndpoint));
      assert.equal(listenHost(l.service_address), '127.0.0.1', 'pod-internal: loopback only');
      assert.ok((l.paths as string[]).includes(endpoint.pathname), `paths ${JSON.stringify(l.paths)} lack ${endpoint.pathname}`);
      assert.equal(l.data_format, 'influx');
    }
  });

  it('tags what the listener receives mm_origin="custom" and drops that tag value on prometheus_client', () => {
    const inputs = conf.inputs as Table;
    const listener = ((inputs.influxdb_listener ?? inputs.http_listener_v2) as Table[])[0];
    const tags = listener.tags as Table | undefined;
    assert.equal(tags?.mm_origin, 'custom');

    const out = one(conf, 'outputs', 'prometheus_client');
    const tagdrop = out.tagdrop as Table | undefined;
    assert.ok(tagdrop, 'prometheus_client has no tagdrop');
    assert.ok(matchesAny(tagdrop.mm_origin, 'custom'), 'tagdrop does not match mm_origin=custom');
    // …while system metrics (no such tag) pass: no tagpass/namepass narrowing the output.
    assert.equal(out.tagpass, undefined);
    assert.equal(out.namepass, undefined);
  });

  it('temp keeps exactly the sensors the default TEMP_SENSOR_FILTER keeps', () => {
    assert.equal(defaults.tempSensorFilter, '^coretemp_package_id_');
    const filter = new RegExp(defaults.tempSensorFilter);
    const temp = one(conf, 'inputs', 'temp');
    const tagpass = temp.tagpass as Table | undefined;
    assert.ok(tagpass, 'inputs.temp has no tagpass');
    assert.deepEqual(Object.keys(tagpass), ['sensor']);
    const sensors = [
      'coretemp_package_id_0', 'coretemp_package_id_1', 'coretemp_package_id_', 'coretemp_package_id_0_crit',
      'coretemp_core_0', 'coretemp_core_12', 'nvme_composite', 'nvme_sensor_1', 'acpitz', 'acpitz_0',
      'x_coretemp_package_id_0', 'Coretemp_package_id_0', 'k10temp_tctl', 'iwlwifi_1', 'pch_cannonlake', '',
    ];
    for (const s of sensors) {
      assert.equal(matchesAny(tagpass.sensor, s), filter.test(s), `sensor ${JSON.stringify(s)}`);
    }
    // The Starlark route of the reference is not needed next to it.
    assert.equal((conf.processors as Table | undefined)?.starlark, undefined);
  });

  it('cpu and mem export what the built-in collectors emit', () => {
    const cpu = one(conf, 'inputs', 'cpu');
    assert.equal(cpu.totalcpu, true);
    assert.equal(cpu.percpu, true);
    assert.notEqual(cpu.collect_cpu_time, true);
    for (const f of BUILTIN_CPU_FIELDS) assert.ok(matchesAny(cpu.fieldinclude, f), `cpu field ${f} not included`);
    assert.ok(!matchesAny(cpu.fieldinclude, 'time_user'), 'cpu time fields are not emitted by the agent');

    const mem = one(conf, 'inputs', 'mem');
    for (const f of BUILTIN_MEM_FIELDS) assert.ok(matchesAny(mem.fieldinclude, f), `mem field ${f} not included`);
  });

  it('does not run the user scripts (the agent runs CUSTOM_METRICS_DIR itself)', () => {
    const inputs = conf.inputs as Table;
    assert.equal(inputs.exec, undefined);
    assert.equal(inputs.execd, undefined);
  });

  it('uses only ${VAR:-default} substitutions, so an unset variable never stays literally', () => {
    const withoutComments = text.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    const vars = withoutComments.match(/\$\{[^}]*\}/g) ?? [];
    assert.ok(vars.length >= 3);
    for (const v of vars) assert.match(v, /^\$\{[A-Z_][A-Z0-9_]*:-[^}]*\}$/, v);
  });
});
