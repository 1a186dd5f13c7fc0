/**
 * Intel GPU collector (i915 and xe): frequencies, busy ratio from idle residency, power from the
 * hwmon energy counter, temperatures, fans, VRAM and per-engine utilisation from DRM fdinfo.
 * One label set per card: {gpu_id, card, pci_slot, driver}; `gt` (and `tile` on xe) are added on
 * parts with more than one GT. See README.md in this folder for the full list and the sources.
 */

import { sameLabels, type Labels, type Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv, CollectorFindings } from '../collector';
import type { HostFs } from '../host-fs';
import { CounterTracker } from '../rate';
import { discoverIntelGpus, type IntelGpuCard } from './cards';
import type { CgroupOwner } from './cgroup';
import { DrmClientScanner, type DrmClientRecord } from './drm-clients';
import { EngineUsageTracker, type EngineClientSample } from './engine-usage';
import { engineDisplayName, isVramRegion, type DrmEngineStats } from './fdinfo';
import { intelGpuSample, type IntelGpuMetric } from './metrics';

export interface IntelGpuCollectorOptions {
  /** Read DRM fdinfo of the processes under HOST_PROC (engine utilisation, VRAM use). Default true. */
  scanProcesses?: boolean;
  /** A known process has its fds looked at again after this long (ms). Default 10 000. */
  processRescanMs?: number;
  /**
   * A process whose fds stay the same is looked at less often, up to this long between looks (ms);
   * also how often all its fd links are read. Default 60 000.
   */
  processIdleRescanMs?: number;
  /**
   * Per-pod series (gpu_pod_*): each DRM client is attributed to its process's pod and container
   * (from /proc/<pid>/cgroup), or to the host. Needs scanProcesses. Default true.
   */
  perPod?: boolean;
  /**
   * Labels of a pod container from the node's pod cache (namespace, pod, container), added to
   * `pod_uid` and `container_id` from the cgroup; undefined when the cache does not know it.
   */
  podLabels?: (owner: CgroupOwner) => Labels | undefined;
}

/** Engine classes every supported Intel GPU has; reported (as 0 when idle) before any client shows them. */
const BASE_ENGINE_CLASSES = ['render', 'copy', 'video', 'video-enhance'] as const;
const FREQ_TYPES = ['cur', 'act', 'min', 'max'] as const;
type FreqType = (typeof FREQ_TYPES)[number];

/** Where one GT's files live, and the labels its series carry. */
interface GtSource {
  id: string;
  labels: Labels;
  freq: Record<FreqType, string>;
  idleMs: string;
  /** File that reads 0 when the idle state is disabled (then idle residency says nothing). */
  idleEnable?: string;
  throttle?: string;
  /** Directory and file prefix of the per-reason throttle flags (i915 `throttle_reason_*`, xe `freq0/throttle/reason_*`). */
  reasons?: { dir: string; prefix: string };
  /** The per-reason flag files found in `reasons.dir`, in name order (filled in by the layout). */
  reasonFiles?: { path: string; labels: Labels }[];
}

/** One hwmon directory of a card: which channels it has and their labels (fixed while the driver is bound). */
interface HwmonLayout {
  hw: string;
  dir: string;
  energy: { n: string; sensor: string }[];
  powerMax: { n: string; sensor: string }[];
  temp: { n: string; sensor: string }[];
  fans: string[];
}

/**
 * What a card's sysfs looks like: tiles, GTs, throttle reason files, hwmon channels and labels,
 * xe's VRAM size. None of it changes while the driver stays bound, so it is read once and then
 * only every LAYOUT_REFRESH_COLLECTIONS collections, when `class/drm` lists other entries (hotplug,
 * driver rebind), or when a file it listed has gone; each collection reads just the values.
 */
interface CardLayout {
  card: IntelGpuCard;
  tiles: string[];
  gts: GtSource[];
  hwmon: HwmonLayout[];
  /** xe: sum of the tiles' `physical_vram_size_bytes` (undefined when none shows it). */
  vramTotalBytes?: number;
}

/** Collections between two full reads of the cards' sysfs structure (a minute at the default interval). */
const LAYOUT_REFRESH_COLLECTIONS = 60;

export class IntelGpuCollector implements Collector {
  readonly name = 'intel_gpu';
  readonly defaultIntervalMs = 1000;

  private readonly counters = new CounterTracker();
  private readonly engines = new EngineUsageTracker();
  private readonly scanner: DrmClientScanner | undefined;
  /** PCI slots on which a DRM client showed a VRAM region (so the card has device memory). */
  private readonly vramSeen = new Set<string>();
  /** The cards of the last cycle (capabilities). */
  private lastCards: IntelGpuCard[] = [];
  /** The cards' structure, the HostFs and `class/drm` entries it was read from, and its age in collections. */
  private layout: { fs: HostFs; drm: string; cards: CardLayout[]; age: number } | undefined;
  /** A file the layout listed read as absent: read the structure again next collection. */
  private layoutStale = false;
  private readonly perPod: boolean;
  private readonly podLabels: ((owner: CgroupOwner) => Labels | undefined) | undefined;
  /** Label objects of the per-owner series by `<pci slot>|<owner key>`; dropped once unused for a collection. */
  private readonly ownerSeries = new Map<string, OwnerSeries>();
  private readonly ownerKeys = new WeakMap<CgroupOwner, string>();
  private collections = 0;

  constructor(
    private readonly env: CollectorEnv,
    opts: IntelGpuCollectorOptions = {},
  ) {
    const rescanMs = opts.processRescanMs ?? 10_000;
    if (!Number.isFinite(rescanMs) || rescanMs < 0) throw new RangeError(`processRescanMs must be >= 0, got ${rescanMs}`);
    this.perPod = opts.scanProcesses !== false && opts.perPod !== false;
    this.podLabels = opts.podLabels;
    const idleRescanMs = opts.processIdleRescanMs ?? 60_000;
    if (!Number.isFinite(idleRescanMs) || idleRescanMs < 0) throw new RangeError(`processIdleRescanMs must be >= 0, got ${idleRescanMs}`);
    this.scanner = opts.scanProcesses === false ? undefined : new DrmClientScanner({ rescanMs, idleRescanMs, drivers: new Set(['i915', 'xe']), owners: this.perPod });
  }

  async collect(): Promise<Collection> {
    const fs = this.env.fs;
    const layouts = await this.cardLayouts(fs);
    const cards = layouts.map((l) => l.card);
    this.lastCards = cards;
    if (cards.length === 0) {
      this.counters.retain(new Set());
      this.engines.retain(new Set());
      this.ownerSeries.clear();
      return { samples: [], present: false };
    }

    const atMs = this.env.monotonic();
    this.collections++;
    const out: Sample[] = [];
    const keys = new Set<string>();
    const emit = (name: IntelGpuMetric, labels: Labels, value: number) => out.push(intelGpuSample(name, labels, value));

    const clients = this.scanner ? await this.scanner.scan(fs, atMs) : undefined;
    const perCard = clients ? groupClients(cards, clients) : undefined;

    for (const layout of layouts) {
      const card = layout.card;
      const attrs = valueReader(fs, card);
      for (const gt of layout.gts) await this.readGt(attrs, card, gt, atMs, emit, keys);
      for (const hw of layout.hwmon) await this.readHwmon(attrs, card, hw, atMs, emit, keys);

      const group = perCard?.get(card);
      if (group) {
        if (group.vramBytes !== undefined) this.vramSeen.add(card.pciSlot);
        emit('gpu_drm_clients', card.labels, group.samples.length);
        const fractions = this.perPod ? new Map<string, Map<string, number>>() : undefined;
        const usage = this.engines.update(card.pciSlot, group.samples, atMs, BASE_ENGINE_CLASSES, fractions);
        if (usage) for (const [engine, pct] of usage) emit('gpu_engine_usage_usage', { ...card.labels, engine, type: engine }, pct);
        if (this.perPod) this.emitOwners(card, group, usage ? fractions : undefined, emit);
      }
      await this.readMemory(attrs, layout, group?.vramBytes, emit);
    }

    this.counters.retain(keys);
    this.engines.retain(new Set(cards.map((c) => c.pciSlot)));
    for (const [k, s] of this.ownerSeries) if (s.usedAt !== this.collections) this.ownerSeries.delete(k);
    return { samples: out, present: true };
  }

  /**
   * The cards and their structure: kept from the last collection unless the HostFs changed,
   * `class/drm` lists other entries (one in-memory directory read per collection), a listed file
   * went missing, or LAYOUT_REFRESH_COLLECTIONS collections passed.
   */
  private async cardLayouts(fs: HostFs): Promise<CardLayout[]> {
    const drm = fs.listSync('sys', 'class/drm').join('/');
    const l = this.layout;
    if (l && l.fs === fs && l.drm === drm && !this.layoutStale && ++l.age < LAYOUT_REFRESH_COLLECTIONS) return l.cards;
    this.layoutStale = false;
    const cards: CardLayout[] = [];
    for (const card of await discoverIntelGpus(fs)) {
      const tiles = card.driver === 'xe' ? sortedMatches(await fs.list('sys', card.devDir), /^tile(\d+)$/) : [];
      const gts = await this.gtSources(fs, card, tiles);
      for (const gt of gts) {
        if (!gt.reasons) continue;
        const { dir, prefix } = gt.reasons;
        gt.reasonFiles = (await fs.list('sys', dir))
          .filter((n) => n.startsWith(prefix) && n !== `${prefix}status`)
          .sort()
          .map((f) => {
            const reason = f.slice(prefix.length);
            return { path: `${dir}/${f}`, labels: { ...gt.labels, reason, category: throttleCategory(reason) } };
          });
      }
      const hwmon: HwmonLayout[] = [];
      for (const hw of sortedMatches(await fs.list('sys', `${card.devDir}/hwmon`), /^hwmon(\d+)$/)) {
        const dir = `${card.devDir}/hwmon/${hw}`;
        const files = await fs.list('sys', dir);
        const label = async (kind: string, n: string, fallback: string) => (await fs.readAttr('sys', `${dir}/${kind}${n}_label`)) || fallback;
        const energy = [];
        for (const n of channels(files, /^energy(\d+)_input$/)) energy.push({ n, sensor: await label('energy', n, defaultPowerSensor(n)) });
        const powerMax = [];
        for (const n of channels(files, /^power(\d+)_max$/)) powerMax.push({ n, sensor: await label('power', n, defaultPowerSensor(n)) });
        const temp = [];
        for (const n of channels(files, /^temp(\d+)_input$/)) temp.push({ n, sensor: await label('temp', n, `temp${n}`) });
        hwmon.push({ hw, dir, energy, powerMax, temp, fans: channels(files, /^fan(\d+)_input$/) });
      }
      let vramTotalBytes: number | undefined;
      for (const tile of tiles) {
        const size = parseSysfsSize(await fs.readAttr('sys', `${card.devDir}/${tile}/physical_vram_size_bytes`));
        if (size !== undefined && size > 0) vramTotalBytes = (vramTotalBytes ?? 0) + size;
      }
      cards.push({ card, tiles, gts, hwmon, vramTotalBytes });
    }
    this.layout = { fs, drm, cards, age: 0 };
    return cards;
  }

  /** Releases the fdinfo files the client scan keeps open. */
  stop(): void {
    this.scanner?.close();
  }

  /** Under `intel_gpu` in health: the fdinfo files held open and reads that found their bound spent. */
  details(): { drm_fdinfo_files_held: number; drm_fdinfo_unheld_reads_total: number } | undefined {
    if (!this.scanner) return undefined;
    const { open, unheldReadsTotal } = this.scanner.heldFiles();
    return { drm_fdinfo_files_held: open, drm_fdinfo_unheld_reads_total: unheldReadsTotal };
  }

  describe(): CollectorFindings {
    const devices = this.lastCards.map((c) => ({ kind: 'intel_gpu' as const, id: c.gpuId, card: c.card, pci_slot: c.pciSlot, driver: c.driver }));
    return devices.length > 0 ? { devices } : { devices, absentReason: 'no_device', detail: 'no DRM card bound to the i915 or xe driver under class/drm' };
  }

  /**
   * gpu_pod_*: the card's clients summed per pod container (or the host). Busy ratio per engine
   * class = Σ client busy fractions / engines in the class, only once a client of the owner has a
   * baseline (`fractions` holds it); memory split into local (VRAM) and system.
   */
  private emitOwners(
    card: IntelGpuCard,
    group: CardClients,
    fractions: Map<string, Map<string, number>> | undefined,
    emit: (name: IntelGpuMetric, labels: Labels, value: number) => void,
  ): void {
    const owners = new Map<string, { key: string; owner?: CgroupOwner; clients: ClientInfo[] }>();
    for (const c of group.clients) {
      const k = c.owner ? this.ownerKey(c.owner) : '';
      let o = owners.get(k);
      if (!o) owners.set(k, (o = { key: k, owner: c.owner, clients: [] }));
      o.clients.push(c);
    }
    const caps = this.engines.capacities(card.pciSlot);
    // Host ('' sorts first), then by pod UID and container id: a stable emission order.
    for (const { key, owner, clients } of [...owners.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
      const series = this.ownerSeriesFor(card, key, owner);
      emit('gpu_pod_drm_clients', series.labels, clients.length);
      for (const memory of ['local', 'system'] as const) {
        let resident: number | undefined;
        let total: number | undefined;
        for (const c of clients) {
          const m = c.memory[memory];
          if (m.resident !== undefined) resident = (resident ?? 0) + m.resident;
          if (m.total !== undefined) total = (total ?? 0) + m.total;
        }
        if (resident !== undefined) emit('gpu_pod_memory_resident_bytes', series.memory[memory], resident);
        if (total !== undefined) emit('gpu_pod_memory_total_bytes', series.memory[memory], total);
      }
      if (!fractions || !clients.some((c) => fractions.has(c.sample.key))) continue;
      for (const [engine, cap] of caps) {
        let sum = 0;
        for (const c of clients) sum += fractions.get(c.sample.key)?.get(engine) ?? 0;
        let labels = series.engines.get(engine);
        if (!labels) series.engines.set(engine, (labels = { ...series.labels, engine }));
        emit('gpu_pod_engine_busy_ratio', labels, clamp(sum / cap, 0, 1));
      }
    }
  }

  /** `<pod uid>|<container id>` of an owner, made once per owner object (a process keeps its owner). */
  private ownerKey(owner: CgroupOwner): string {
    let k = this.ownerKeys.get(owner);
    if (k === undefined) this.ownerKeys.set(owner, (k = `${owner.podUid}|${owner.containerId ?? ''}`));
    return k;
  }

  /**
   * The label objects of one owner's series on a card, kept between collections: the same objects
   * each second instead of ~10 new ones per owner (the store keeps them and never changes them).
   * Made again when the card's labels or what the pod cache says about the owner change.
   */
  private ownerSeriesFor(card: IntelGpuCard, key: string, owner: CgroupOwner | undefined): OwnerSeries {
    const known = owner ? this.podLabels?.(owner) : undefined;
    const slotKey = `${card.pciSlot}|${key}`;
    let s = this.ownerSeries.get(slotKey);
    if (!s || s.known !== known || !sameLabels(s.cardLabels, card.labels)) {
      const labels = { ...card.labels, ...this.ownerLabels(owner, known) };
      s = { cardLabels: card.labels, known, labels, memory: { local: { ...labels, memory: 'local' }, system: { ...labels, memory: 'system' } }, engines: new Map(), usedAt: 0 };
      this.ownerSeries.set(slotKey, s);
    }
    s.usedAt = this.collections;
    return s;
  }

  /** `pod_uid` and `container_id` from the cgroup path, plus `namespace`, `pod`, `container` when the pod cache knows them. */
  private ownerLabels(owner: CgroupOwner | undefined, known: Labels | undefined): Labels {
    if (!owner) return {};
    const ids: Labels = owner.containerId !== undefined ? { pod_uid: owner.podUid, container_id: owner.containerId } : { pod_uid: owner.podUid };
    return known ? { ...ids, ...known } : ids;
  }

  /** i915: `<card>/gt/gt<N>/rps_*` (card-level `gt_*_freq_mhz` on old kernels); xe: `<dev>/tile<T>/gt<N>/freq0`. */
  private async gtSources(fs: HostFs, card: IntelGpuCard, tiles: string[]): Promise<GtSource[]> {
    const sources: Omit<GtSource, 'labels'>[] = [];
    const tileOf = new Map<string, string>();
    if (card.driver === 'i915') {
      const gts = sortedMatches(await fs.list('sys', `${card.cardDir}/gt`), /^gt(\d+)$/);
      for (const gt of gts) {
        const base = `${card.cardDir}/gt/${gt}`;
        sources.push({
          id: gt.slice(2),
          freq: freqPaths((t) => `${base}/rps_${t}_freq_mhz`),
          idleMs: `${base}/rc6_residency_ms`,
          idleEnable: `${base}/rc6_enable`,
          throttle: `${base}/throttle_reason_status`,
          reasons: { dir: base, prefix: 'throttle_reason_' },
        });
      }
      if (gts.length === 0) {
        sources.push({
          id: '0',
          freq: freqPaths((t) => `${card.cardDir}/gt_${t}_freq_mhz`),
          idleMs: `${card.cardDir}/power/rc6_residency_ms`,
          idleEnable: `${card.cardDir}/power/rc6_enable`,
        });
      }
    } else {
      for (const tile of tiles) {
        for (const gt of sortedMatches(await fs.list('sys', `${card.devDir}/${tile}`), /^gt(\d+)$/)) {
          const base = `${card.devDir}/${tile}/${gt}`;
          tileOf.set(gt.slice(2), tile.slice(4));
          sources.push({
            id: gt.slice(2),
            freq: freqPaths((t) => `${base}/freq0/${t}_freq`),
            idleMs: `${base}/gtidle/idle_residency_ms`,
            throttle: `${base}/freq0/throttle/status`,
            reasons: { dir: `${base}/freq0/throttle`, prefix: 'reason_' },
          });
        }
      }
    }
    const multi = sources.length > 1;
    return sources.map((s) => {
      let labels = card.labels;
      if (multi) {
        const tile = tileOf.get(s.id);
        labels = tile !== undefined ? { ...card.labels, tile, gt: s.id } : { ...card.labels, gt: s.id };
      }
      return { ...s, labels };
    });
  }

  private async readGt(
    attrs: ValueReader,
    card: IntelGpuCard,
    gt: GtSource,
    atMs: number,
    emit: (name: IntelGpuMetric, labels: Labels, value: number) => void,
    keys: Set<string>,
  ): Promise<void> {
    for (const t of FREQ_TYPES) {
      const mhz = await attrs.number(gt.freq[t]);
      if (mhz !== undefined) emit('gpu_frequency', { ...gt.labels, type: `${t}_freq` }, mhz);
    }

    const idleMs = await attrs.number(gt.idleMs);
    if (idleMs !== undefined) {
      emit('gpu_idle_residency_seconds_total', gt.labels, idleMs / 1000);
      const key = `${card.pciSlot}|gt${gt.id}|idle`;
      keys.add(key);
      // Idle residency is kept as a 64-bit count by both drivers: going back is a reset.
      const d = this.counters.delta(key, idleMs, atMs);
      const enabled = gt.idleEnable === undefined || (await attrs.number(gt.idleEnable)) !== 0;
      if (d && d.elapsedMs > 0 && enabled) emit('gpu_busy_ratio', gt.labels, clamp(1 - d.delta / d.elapsedMs, 0, 1));
    }

    if (gt.throttle) {
      const t = await attrs.number(gt.throttle);
      if (t !== undefined) emit('gpu_throttle_active', gt.labels, t !== 0 ? 1 : 0);
    }
    for (const r of gt.reasonFiles ?? []) {
      const text = await attrs.text(r.path);
      if (text === undefined) this.layoutStale = true; // a listed file went: read the structure again
      const v = numberOf(text);
      if (v === undefined) continue;
      emit('gpu_throttle_reason_active', r.labels, v !== 0 ? 1 : 0);
    }
  }

  /** `<dev>/hwmon/hwmon<N>`: energy µJ, power limit µW, temperature m°C, fan RPM. */
  private async readHwmon(
    attrs: ValueReader,
    card: IntelGpuCard,
    hw: HwmonLayout,
    atMs: number,
    emit: (name: IntelGpuMetric, labels: Labels, value: number) => void,
    keys: Set<string>,
  ): Promise<void> {
    const { dir } = hw;
    // A listed channel that reads as absent means the directory went (driver unbound, hwmon renumbered).
    const read = async (file: string) => {
      const text = await attrs.text(`${dir}/${file}`);
      if (text === undefined) this.layoutStale = true;
      return numberOf(text);
    };
    for (const { n, sensor } of hw.energy) {
      const uj = await read(`energy${n}_input`);
      if (uj === undefined) continue;
      emit('gpu_energy_joules_total', { ...card.labels, sensor }, uj / 1e6);
      const key = `${card.pciSlot}|${hw.hw}|energy${n}`;
      keys.add(key);
      // The driver extends the 32-bit hardware register to 64 bits; a drop is a reset (reload).
      const ujPerSec = this.counters.rate(key, uj, atMs);
      if (ujPerSec !== undefined) emit('gpu_power', { ...card.labels, type: powerType(sensor) }, ujPerSec / 1e6);
    }
    for (const { n, sensor } of hw.powerMax) {
      const uw = await read(`power${n}_max`);
      if (uw === undefined || uw <= 0) continue; // 0: limit disabled
      emit('gpu_power_limit_watts', { ...card.labels, sensor }, uw / 1e6);
    }
    for (const { n, sensor } of hw.temp) {
      const mc = await read(`temp${n}_input`);
      if (mc === undefined) continue;
      emit('gpu_temperature_celsius', { ...card.labels, sensor }, mc / 1000);
    }
    for (const n of hw.fans) {
      const rpm = await read(`fan${n}_input`);
      if (rpm !== undefined) emit('gpu_fan_speed_rpm', { ...card.labels, fan: n }, rpm);
    }
  }

  /**
   * VRAM. i915 (DG1/DG2 with the backport driver) has `<card>/lmem_total_bytes` and
   * `lmem_avail_bytes`. xe had `<dev>/tile<N>/physical_vram_size_bytes` on some kernels; its use
   * comes only from the clients' fdinfo (sum of resident `vram<N>` regions).
   */
  private async readMemory(
    attrs: ValueReader,
    layout: CardLayout,
    clientVramBytes: number | undefined,
    emit: (name: IntelGpuMetric, labels: Labels, value: number) => void,
  ): Promise<void> {
    const card = layout.card;
    let total: number | undefined;
    let used: number | undefined;
    if (card.driver === 'i915') {
      total = await attrs.number(`${card.cardDir}/lmem_total_bytes`);
      const avail = await attrs.number(`${card.cardDir}/lmem_avail_bytes`);
      if (total !== undefined && total <= 0) total = undefined;
      if (total !== undefined && avail !== undefined && avail <= total) used = total - avail;
    } else {
      total = layout.vramTotalBytes;
    }
    if (total !== undefined) emit('gpu_memory_total_bytes', card.labels, total);
    if (used === undefined && this.scanner && (total !== undefined || this.vramSeen.has(card.pciSlot))) used = clientVramBytes ?? 0;
    if (used !== undefined) emit('gpu_memory_used_bytes', card.labels, used);
  }
}

/** The label objects of one owner's gpu_pod_* series on one card, and what they were made from. */
interface OwnerSeries {
  cardLabels: Labels;
  known: Labels | undefined;
  labels: Labels;
  memory: { local: Labels; system: Labels };
  engines: Map<string, Labels>;
  /** The collection that last emitted them. */
  usedAt: number;
}

interface RegionSums {
  resident?: number;
  total?: number;
}

interface ClientInfo {
  sample: EngineClientSample;
  /** The pod container of the first (lowest pid) process holding the client; undefined: the host. */
  owner?: CgroupOwner;
  memory: { local: RegionSums; system: RegionSums };
}

interface CardClients {
  samples: EngineClientSample[];
  clients: ClientInfo[];
  /** Sum of resident VRAM over the card's clients; undefined when none showed a VRAM region. */
  vramBytes?: number;
}

/**
 * Assigns DRM client fds to cards (by `drm-pdev`, else by the device node the fd points at) and
 * deduplicates them by `drm-client-id`: a client whose fd was dup'ed or passed to another process
 * appears several times with the same counters and must count once. Records come ordered by pid,
 * so a shared client belongs to the lowest pid holding it.
 */
export function groupClients(cards: IntelGpuCard[], records: DrmClientRecord[]): Map<IntelGpuCard, CardClients> {
  const bySlot = new Map(cards.map((c) => [c.pciSlot, c]));
  const byNode = new Map<string, IntelGpuCard>();
  for (const c of cards) {
    byNode.set(c.card, c);
    if (c.renderMinor !== undefined) byNode.set(`renderD${c.renderMinor}`, c);
  }
  const out = new Map<IntelGpuCard, CardClients>(cards.map((c) => [c, { samples: [], clients: [] }]));
  const seen = new Map<string, EngineClientSample>();
  for (const r of records) {
    const card = r.info.pdev !== undefined ? bySlot.get(r.info.pdev) : byNode.get(r.node);
    if (!card || card.driver !== r.info.driver) continue;
    const key = `${card.pciSlot}|${r.info.clientId ?? `pid${r.pid}/fd${r.fd}`}`;
    const dup = seen.get(key);
    if (dup) {
      // New only if every process holding it is new.
      if (!r.newProcess) dup.newProcess = false;
      continue;
    }
    const group = out.get(card)!;
    // xe names its classes rcs, bcs, …: renamed; i915's are already the display names.
    let engines = r.info.engines;
    if (r.info.driver === 'xe') {
      engines = new Map<string, DrmEngineStats>();
      for (const [cls, stats] of r.info.engines) engines.set(engineDisplayName(r.info.driver, cls), stats);
    }
    const sample: EngineClientSample = { key, engines, newProcess: r.newProcess };
    if (r.info.clientId !== undefined) sample.id = BigInt(r.info.clientId);
    seen.set(key, sample);
    group.samples.push(sample);
    const memory: ClientInfo['memory'] = { local: {}, system: {} };
    for (const [region, stats] of r.info.regions) {
      const local = isVramRegion(region);
      const m = local ? memory.local : memory.system;
      if (stats.resident !== undefined) m.resident = (m.resident ?? 0) + stats.resident;
      if (stats.total !== undefined) m.total = (m.total ?? 0) + stats.total;
      if (local) group.vramBytes = (group.vramBytes ?? 0) + (stats.resident ?? stats.total ?? 0);
    }
    group.clients.push({ sample, owner: r.owner, memory });
  }
  return out;
}

function freqPaths(path: (t: FreqType) => string): Record<FreqType, string> {
  return { cur: path('cur'), act: path('act'), min: path('min'), max: path('max') };
}

/** Entries matching `re` (with a numeric group 1), in numeric order. */
function sortedMatches(entries: string[], re: RegExp): string[] {
  return entries
    .map((e) => [e, re.exec(e)] as const)
    .filter((x): x is readonly [string, RegExpExecArray] => x[1] !== null)
    .sort((a, b) => Number(a[1][1]) - Number(b[1][1]))
    .map(([e]) => e);
}

/** Channel numbers of hwmon attribute files matching `re`, in numeric order. */
function channels(files: string[], re: RegExp): string[] {
  return sortedMatches(files, re).map((f) => re.exec(f)![1]);
}

/** Both drivers' ABI docs: channel 1 is the card (i915: the device), channel 2 the package (xe). */
function defaultPowerSensor(n: string): string {
  return n === '1' ? 'card' : n === '2' ? 'pkg' : `channel${n}`;
}

/** The reference's `gpu_power{type}` values (qmassa's power keys). */
function powerType(sensor: string): string {
  return sensor === 'card' ? 'gpu_cur_power' : sensor === 'pkg' ? 'pkg_cur_power' : `${sensor}_cur_power`;
}

/** A card's value attributes (sysfs-relative paths): trimmed text, or undefined when absent. */
interface ValueReader {
  text(rel: string): Promise<string | undefined>;
  number(rel: string): Promise<number | undefined>;
}

/**
 * Reads a card's value attributes for one collection. Some of them wake a runtime-suspended
 * device to read a register (i915 and xe take a runtime-PM reference for idle residency, energy,
 * throttle flags), which can take milliseconds, so they are read off the event loop by default.
 * While the PCI device's `power/runtime_status` says `active` (read from PM-core memory, no
 * hardware access) no read has to wake anything, and the few dozen attributes are read
 * synchronously: a few µs each instead of a thread-pool round trip per step, which under load
 * costs 10–50 times more CPU. An unreadable or absent status means the asynchronous reads.
 */
function valueReader(fs: HostFs, card: IntelGpuCard): ValueReader {
  let status: string | undefined;
  try {
    status = fs.readSmallSync('sys', `${card.devDir}/power/runtime_status`)?.trim();
  } catch {
    status = undefined;
  }
  const text =
    status === 'active'
      ? (rel: string) => Promise.resolve(fs.readSmallSync('sys', rel)?.trim())
      : (rel: string) => fs.readAttr('sys', rel);
  return { text, number: async (rel) => numberOf(await text(rel)) };
}

/** A numeric attribute's value, as HostFs.readNumber reads it. */
function numberOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A size attribute printed in decimal (or `0x` hex by some kernel versions). */
function parseSysfsSize(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * What limits the frequency, by the driver's reason name: power limits (PL1 sustained, PL2 burst,
 * platform PSys), current (PL4 peak current, the voltage regulator's TDC), heat (thermal,
 * PROCHOT from another agent, RATL running-average temperature, the VR's thermal alert).
 */
export function throttleCategory(reason: string): string {
  if (/^(pl1|pl2|psys_pl1|psys_pl2)$/.test(reason)) return 'power';
  if (/^(pl4|vr_tdc|psys_crit)$/.test(reason)) return 'current';
  if (/^(thermal|prochot|ratl|vr_thermalert)$/.test(reason)) return 'thermal';
  return 'other';
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
