import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAlive, sleep } from './proc.js';

// Lab state lives outside /etc and /var: light hosts overlay those two trees, and overlayfs refuses
// an upper directory that sits inside its own lower one. Hosts never see this directory (it is
// hidden by an empty read-only tmpfs in each light host), because it holds every host's secrets.
export const STATE_ROOT = '/srv/kubeon-lab';
export const ROOTFS_CACHE = '/var/cache/kubeon-lab';

/** One bridge holds at most 1023 ports and the uplink to the machine takes one of them. */
export const MAX_HOSTS = 1022;
export const MAX_SYSTEM = 250;
const SLOTS = 64;

export type HostKind = 'light' | 'system';

const ID_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export function checkId(id: string): string {
  if (!ID_RE.test(id)) {
    throw new Error(
      `lab id "${id}" is invalid: use 1-40 of a-z, 0-9 and "-", starting with a letter or digit`,
    );
  }
  return id;
}

export const labDir = (id: string) => `${STATE_ROOT}/${id}`;
/** The sealed namespace that holds the lab's bridge. "." cannot occur in an id, so prefixes never collide. */
export const sealedNetns = (id: string) => `klab.${id}`;
export const hostNetns = (id: string, host: string) => `klab.${id}.${host}`;
/** The machine's end of the uplink into the sealed namespace (15-character interface name limit). */
export const machineIface = (slot: number) => `klab${slot}`;

export function hostName(kind: HostKind, index: number): string {
  return `${kind === 'light' ? 'l' : 's'}${String(index).padStart(3, '0')}`;
}

export interface AddressPlan {
  subnet: string;
  gatewayIp: string;
  bridgeIp: string;
  prefix: string;
}

/** Slot n owns 10.(77+n).0.0/16: .0.1 is the machine, .0.254 the bridge, light hosts from .1.1, system hosts at .200.N. */
export function addressPlan(slot: number): AddressPlan {
  const prefix = `10.${77 + slot}`;
  return { subnet: `${prefix}.0.0/16`, gatewayIp: `${prefix}.0.1`, bridgeIp: `${prefix}.0.254`, prefix };
}

export function hostIp(slot: number, kind: HostKind, index: number): string {
  const { prefix } = addressPlan(slot);
  if (kind === 'system') return `${prefix}.200.${index}`;
  return `${prefix}.${1 + Math.floor((index - 1) / 250)}.${((index - 1) % 250) + 1}`;
}

/**
 * Kubernetes' default service and pod CIDRs (kubeadm's `10.96.0.0/12`, flannel's and most
 * guides' `10.244.0.0/16`). A lab subnet inside one of them makes kubeon rightly refuse the
 * nodes, so no lab takes such a slot; a test adds the CIDRs its cluster uses.
 */
export const CLUSTER_CIDRS = ['10.96.0.0/12', '10.244.0.0/16'];

function ipv4Range(cidr: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const bits = Number(m[5]);
  const octets = m.slice(1, 5).map(Number);
  if (bits > 32 || octets.some((o) => o > 255)) throw new Error(`"${cidr}" is not an IPv4 CIDR`);
  const ip = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const start = ip - (ip % size);
  return [start, start + size - 1];
}

/** Slots whose /16 overlaps one of these CIDRs (IPv6 CIDRs cannot overlap a lab subnet). */
export function slotsInCidrs(cidrs: string[]): Set<number> {
  const out = new Set<number>();
  for (const cidr of cidrs) {
    if (cidr.includes(':')) continue;
    const r = ipv4Range(cidr);
    if (!r) throw new Error(`"${cidr}" is not a CIDR (a.b.c.d/n)`);
    for (let s = 0; s < SLOTS; s++) {
      const start = (10 * 256 + 77 + s) * 65536;
      if (start <= r[1] && start + 65535 >= r[0]) out.add(s);
    }
  }
  return out;
}

/** A slot derived from the id, so a lab keeps its subnet across re-creation unless another lab took it. */
export function preferredSlot(id: string): number {
  if (id === 'default') return 0;
  return 1 + (createHash('sha256').update(id).digest().readUInt32BE() % (SLOTS - 1));
}

export function pickSlot(id: string, taken: Set<number>): number {
  const first = preferredSlot(id);
  for (let i = 0; i < SLOTS; i++) {
    const slot = (first + i) % SLOTS;
    if (!taken.has(slot)) return slot;
  }
  throw new Error(`no free lab subnet: ${SLOTS} labs exist; run "lab down --id ID" on one`);
}

/** Subnets in use by the machine's own routes (so a lab never shadows a real network). */
export async function slotsUsedByRoutes(): Promise<Set<number>> {
  const taken = new Set<number>();
  const text = await readFile('/proc/net/route', 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.split('\t');
    if (!iface || !dest || !mask || iface.startsWith('klab')) continue;
    const d = Number.parseInt(dest, 16);
    const m = Number.parseInt(mask, 16);
    // /proc/net/route prints addresses in little-endian hex.
    const first = d & 0xff;
    const second = (d >>> 8) & 0xff;
    const maskFirst = m & 0xff;
    const maskSecond = (m >>> 8) & 0xff;
    if (maskFirst === 0) continue; // default route
    for (let s = 0; s < SLOTS; s++) {
      if ((10 & maskFirst) === (first & maskFirst) && ((77 + s) & maskSecond) === (second & maskSecond)) {
        taken.add(s);
      }
    }
  }
  return taken;
}

/**
 * A lock file holding the owner's PID; a lock whose owner died is taken over. Several engineers'
 * test runs share this machine, so every mutation of a lab (and of the shared rootfs cache and
 * subnet table) happens under one.
 */
export async function withLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(await readFile(path, 'utf8').catch(() => ''));
      if (owner && owner !== process.pid && !(await isAlive(owner))) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} held by PID ${owner}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

export async function ensureStateRoot(): Promise<void> {
  await mkdir(STATE_ROOT, { recursive: true });
  await chmod(STATE_ROOT, 0o700);
}

/** Writes a file atomically (tmp + rename), readable by root only. */
export async function writePrivate(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}

export async function labIds(): Promise<string[]> {
  const entries = await readdir(STATE_ROOT, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && ID_RE.test(e.name)).map((e) => e.name);
}
