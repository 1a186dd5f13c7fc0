/**
 * Finds the Intel GPUs of the node in sysfs: `class/drm/card<N>` entries (display connectors such
 * as `card0-DP-1` are skipped) whose PCI device is bound to the i915 or xe driver and whose PCI
 * vendor is Intel (0x8086).
 *
 * The driver and PCI slot come from the kernel's symlinks (`device` → the PCI device directory,
 * `device/driver` → `bus/pci/drivers/<name>`). When a link cannot be read (a copied tree, an odd
 * mount), the PCI device's `uevent` file (`DRIVER=`, `PCI_SLOT_NAME=`, `PCI_ID=`) is used instead;
 * sysfs always has both.
 */

import path from 'node:path';
import type { Labels } from '../../model/sample';
import type { HostFs } from '../host-fs';

export type IntelGpuDriver = 'i915' | 'xe';

export interface IntelGpuCard {
  /** `card0` */
  card: string;
  cardIndex: number;
  /** Minor of the render node (`renderD128` → 128) when the device has one. */
  renderMinor?: number;
  /** The reference's numbering: render minor − 128, else the card index. */
  gpuId: string;
  /** `0000:03:00.0` (lower case). */
  pciSlot: string;
  driver: IntelGpuDriver;
  /** sysfs-relative directory of the DRM card (i915 puts its GT files here). */
  cardDir: string;
  /** sysfs-relative directory of the PCI device (xe tiles, hwmon). */
  devDir: string;
  /** `{gpu_id, card, pci_slot, driver}`: one label set per card, shared by its samples. */
  labels: Labels;
}

const CARD_RE = /^card(\d+)$/;
const PCI_SLOT_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;
const INTEL_VENDOR = 0x8086;

/** `KEY=value` lines of a sysfs uevent file. */
export function parseUevent(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

function asDriver(name: string | undefined): IntelGpuDriver | undefined {
  return name === 'i915' || name === 'xe' ? name : undefined;
}

/** Intel GPUs in card-index order. Hardware without them gives []. */
export async function discoverIntelGpus(fs: HostFs): Promise<IntelGpuCard[]> {
  const entries = await fs.list('sys', 'class/drm');
  const cards: IntelGpuCard[] = [];
  for (const name of entries) {
    const m = CARD_RE.exec(name);
    if (!m) continue;
    const card = await inspectCard(fs, name, Number(m[1]));
    if (card) cards.push(card);
  }
  return cards.sort((a, b) => a.cardIndex - b.cardIndex);
}

async function inspectCard(fs: HostFs, card: string, cardIndex: number): Promise<IntelGpuCard | undefined> {
  const cardDir = `class/drm/${card}`;
  const devDir = `${cardDir}/device`;

  let uevent: Record<string, string> | undefined;
  const ue = async () => (uevent ??= parseUevent((await fs.readText('sys', `${devDir}/uevent`)) ?? ''));

  const driverLink = await fs.readLink('sys', `${devDir}/driver`);
  const driver = asDriver(driverLink !== undefined ? path.posix.basename(driverLink) : (await ue()).DRIVER);
  if (!driver) return undefined;

  const vendorText = await fs.readAttr('sys', `${devDir}/vendor`);
  const vendor = vendorText !== undefined ? Number(vendorText) : parseInt(((await ue()).PCI_ID ?? '').split(':')[0] ?? '', 16);
  // Without any vendor information trust the driver binding (only Intel hardware binds i915/xe).
  if (Number.isFinite(vendor) && vendor !== INTEL_VENDOR) return undefined;

  const devLink = await fs.readLink('sys', devDir);
  let pciSlot = devLink !== undefined ? path.posix.basename(devLink) : undefined;
  if (pciSlot === undefined || !PCI_SLOT_RE.test(pciSlot)) pciSlot = (await ue()).PCI_SLOT_NAME;
  if (pciSlot === undefined || !PCI_SLOT_RE.test(pciSlot)) return undefined;
  pciSlot = pciSlot.toLowerCase();

  let renderMinor: number | undefined;
  for (const n of await fs.list('sys', `${devDir}/drm`)) {
    const r = /^renderD(\d+)$/.exec(n);
    if (r) renderMinor = Math.min(renderMinor ?? Infinity, Number(r[1]));
  }
  const gpuId = String(renderMinor !== undefined && renderMinor >= 128 ? renderMinor - 128 : cardIndex);

  return {
    card,
    cardIndex,
    renderMinor,
    gpuId,
    pciSlot,
    driver,
    cardDir,
    devDir,
    labels: { gpu_id: gpuId, card, pci_slot: pciSlot, driver },
  };
}
