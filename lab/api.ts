import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { derivePassword, hashPasswords, SUDO_USER } from './accounts.js';
import {
  type HostPlan,
  launchLight,
  launchSystem,
  prepareLight,
  prepareSystem,
  readBaseSystem,
  waitForSsh,
} from './hosts.js';
import {
  addressPlan,
  CLUSTER_CIDRS,
  checkId,
  ensureStateRoot,
  type HostKind,
  hostIp,
  hostName,
  hostNetns,
  labDir,
  labIds,
  MAX_HOSTS,
  MAX_SYSTEM,
  machineIface,
  pickSlot,
  STATE_ROOT,
  sealedNetns,
  slotsInCidrs,
  slotsUsedByRoutes,
  withLock,
  writePrivate,
} from './layout.js';
import { createNetwork, deleteNetwork, existingNetns, ifaceExists, netnsInode, setLink } from './network.js';
import { CLEAN_ENV, findProcesses, isAlive, must, nsInode, run, signal, sleep, waitGone } from './proc.js';
import { ensureRootfs } from './rootfs.js';
import type { SlowEntry } from './slow-relay.js';
import { generateEd25519 } from './sshkeys.js';

export interface LabHost {
  name: string;
  kind: 'light' | 'system';
  ip: string;
  sshPort: number;
  rootPassword: string;
  /** Private key that root and the sudo user accept. */
  keyPath: string;
  sudoUser: string;
  sudoPassword: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  refusesRoot: boolean;
  /** The machine's PID of the host's PID 1 (sshd for light hosts, systemd for system hosts). */
  pid: number;
  /** Network namespace name, under /run/netns. */
  netns: string;
}

export interface Lab {
  id: string;
  dir: string;
  subnet: string;
  /** The machine's address on the lab bridge, where lab services (mirror, registry) listen. */
  gatewayIp: string;
  hosts: LabHost[];
  knownHostsPath: string;
  /** An ssh_config with one `Host` entry per host name (root, the lab key, the lab's known_hosts). */
  sshConfigPath: string;
  /** The machine's interface on the lab network. */
  iface: string;
}

interface Shape {
  light: number;
  system: number;
  refuseRoot: string[];
}

interface LabState extends Lab {
  slot: number;
  shape: Shape;
  complete: boolean;
}

export interface UpOptions {
  id?: string;
  light?: number;
  system?: number;
  /** Host names that refuse root login (`PermitRootLogin no`). */
  refuseRoot?: string[];
  /**
   * CIDRs the lab's subnet must not overlap, besides CLUSTER_CIDRS: the pod and service subnets
   * a test gives its cluster, so kubeon never sees a node address inside them.
   */
  avoidCidrs?: string[];
  /** Progress messages (rootfs build, counts); silent by default. */
  log?: (msg: string) => void;
}

const DEFAULT_ID = 'default';
const lockPath = (id: string) => `${STATE_ROOT}/.lock-${id}`;
const statePath = (id: string) => `${labDir(id)}/lab.json`;

async function readState(id: string): Promise<LabState | undefined> {
  const text = await readFile(statePath(id), 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as LabState) : undefined;
}

function publicLab(s: LabState): Lab {
  const { slot: _s, shape: _sh, complete: _c, ...lab } = s;
  return lab;
}

function shapeOf(opts: UpOptions): Shape {
  const system = opts.system ?? 0;
  const light = opts.light ?? (opts.system ? 0 : 3);
  for (const [k, v] of Object.entries({ light, system })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a whole number ≥ 0, got ${v}`);
  }
  if (light + system === 0) throw new Error('a lab needs at least one host');
  if (light + system > MAX_HOSTS) {
    throw new Error(`${light + system} hosts do not fit on one bridge (at most ${MAX_HOSTS} ports)`);
  }
  if (system > MAX_SYSTEM) throw new Error(`at most ${MAX_SYSTEM} system hosts, got ${system}`);
  const names = new Set([
    ...range(light).map((i) => hostName('light', i)),
    ...range(system).map((i) => hostName('system', i)),
  ]);
  const refuseRoot = [...new Set(opts.refuseRoot ?? [])].sort();
  for (const n of refuseRoot) {
    if (!names.has(n))
      throw new Error(`--refuse-root ${n}: no such host in this lab (hosts are l001…, s001…)`);
  }
  return { light, system, refuseRoot };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Why a recorded lab is not usable as it stands (empty when it is healthy). */
async function problems(s: LabState): Promise<string[]> {
  const out: string[] = [];
  if (!s.complete) return ['its creation did not finish'];
  if ((await netnsInode(sealedNetns(s.id))) === undefined) return ['its network namespace is gone'];
  await Promise.all(
    s.hosts.map(async (h) => {
      const want = await netnsInode(h.netns);
      if (want === undefined || (await nsInode(h.pid, 'net')) !== want || !(await isAlive(h.pid))) {
        out.push(`host ${h.name} is not running`);
      }
    }),
  );
  return out.sort();
}

/**
 * Brings a lab up. An existing healthy lab of the same shape is returned as it is; a broken or
 * half-built one is torn down and rebuilt; a healthy one of another shape is an error.
 */
export async function labUp(opts: UpOptions = {}): Promise<Lab> {
  const id = checkId(opts.id ?? DEFAULT_ID);
  const shape = shapeOf(opts);
  const log = opts.log ?? (() => {});
  const avoid = slotsInCidrs([...CLUSTER_CIDRS, ...(opts.avoidCidrs ?? [])]);
  await ensureStateRoot();
  return withLock(lockPath(id), 30 * 60_000, async () => {
    const existing = await readState(id);
    if (existing) {
      const bad = avoid.has(existing.slot)
        ? [`its subnet ${addressPlan(existing.slot).subnet} overlaps a cluster CIDR it must avoid`]
        : await problems(existing);
      if (bad.length === 0) {
        if (JSON.stringify(existing.shape) === JSON.stringify(shape)) return publicLab(existing);
        throw new Error(
          `lab "${id}" is already up with ${existing.shape.light} light and ${existing.shape.system} system hosts` +
            ` (refusing root: ${existing.shape.refuseRoot.join(',') || 'none'}); run "lab down --id ${id}" first`,
        );
      }
      log(`lab ${id}: rebuilding, because ${bad[0]}`);
    }
    await teardown(id);
    const rootfs = shape.system ? await ensureRootfs(log) : undefined;
    try {
      return publicLab(await build(id, shape, rootfs, avoid, log));
    } catch (e) {
      await teardown(id).catch(() => {});
      throw e;
    }
  });
}

async function allocateSlot(id: string, avoid: Set<number>): Promise<number> {
  return withLock(`${STATE_ROOT}/.lock-subnets`, 60_000, async () => {
    const taken = new Set([...(await slotsUsedByRoutes()), ...avoid]);
    for (const other of await labIds()) {
      const s = other === id ? undefined : await readState(other);
      if (s) taken.add(s.slot);
    }
    for (let slot = 0; slot < 64; slot++) if (await ifaceExists(machineIface(slot))) taken.add(slot);
    const slot = pickSlot(id, taken);
    // Claim it before releasing the lock: the state file is what other labs read.
    await rm(labDir(id), { recursive: true, force: true });
    await writeDir(labDir(id));
    await writePrivate(statePath(id), JSON.stringify({ id, slot, complete: false, hosts: [] }));
    return slot;
  });
}

async function writeDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o700);
}

async function build(
  id: string,
  shape: Shape,
  rootfs: string | undefined,
  avoid: Set<number>,
  log: (m: string) => void,
) {
  const started = Date.now();
  const slot = await allocateSlot(id, avoid);
  const plan = addressPlan(slot);
  const dir = labDir(id);
  const seed = randomBytes(32);
  await writePrivate(`${dir}/seed`, seed.toString('hex'));
  const client = generateEd25519(`kubeon-lab-${id}`);
  const keyPath = `${dir}/id_ed25519`;
  await writePrivate(keyPath, client.privateKey);
  await writeFile(`${keyPath}.pub`, `${client.publicKey}\n`);

  const plans: HostPlan[] = [];
  for (const kind of ['light', 'system'] as HostKind[]) {
    for (const i of range(kind === 'light' ? shape.light : shape.system)) {
      const name = hostName(kind, i);
      plans.push({
        name,
        kind,
        ip: hostIp(slot, kind, i),
        netns: hostNetns(id, name),
        dir: `${dir}/hosts/${name}`,
        refusesRoot: shape.refuseRoot.includes(name),
        rootPassword: derivePassword(seed, name, 'root'),
        sudoPassword: derivePassword(seed, name, SUDO_USER),
        hostKey: generateEd25519(`root@${name}`),
      });
    }
  }
  const hashes = await hashPasswords(plans.flatMap((h) => [h.rootPassword, h.sudoPassword]));
  const machineBase = shape.light ? await readBaseSystem('') : undefined;
  const rootfsBase = rootfs ? await readBaseSystem(rootfs) : undefined;
  await inBatches(plans, 32, (h, i) => {
    const pair: [string, string] = [hashes[2 * i] ?? '', hashes[2 * i + 1] ?? ''];
    return h.kind === 'light'
      ? prepareLight(h, machineBase!, plan, client.publicKey, pair)
      : prepareSystem(h, rootfsBase!, client.publicKey, pair);
  });

  const state: LabState = {
    id,
    dir,
    subnet: plan.subnet,
    gatewayIp: plan.gatewayIp,
    iface: machineIface(slot),
    knownHostsPath: `${dir}/known_hosts`,
    sshConfigPath: `${dir}/ssh_config`,
    hosts: [],
    slot,
    shape,
    complete: false,
  };
  await writePrivate(statePath(id), JSON.stringify(state, null, 2));
  await createNetwork(id, slot, plan, plans);
  if (shape.system) await raiseInotify();
  log(
    `lab ${id}: network for ${plans.length} hosts ready after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  const launchers = new Map<string, number>();
  for (const h of plans) if (h.kind === 'light') launchers.set(h.name, launchLight(h));
  const systems = plans.filter((h) => h.kind === 'system');
  const nspawnPids = await inBatches(systems, 8, (h) => launchSystem(h, rootfs!, plan, h.netns));
  for (const [i, h] of systems.entries()) launchers.set(h.name, nspawnPids[i] ?? 0);

  const deadline = Date.now() + 60_000 + 200 * shape.light + 2000 * shape.system;
  await inBatches(plans, 256, (h) =>
    waitForSsh(h.ip, deadline, launchers.get(h.name)).catch((e: Error) => failWithLog(h, e)),
  );
  const leaders = await leadersByNetns(plans);
  // `unshare --fork` only waits for the host's sshd; ending it saves a process per light host (its
  // child, PID 1 of the host, is unaffected). They are our own children, so their PIDs are not reused.
  for (const h of plans) if (h.kind === 'light') signal(launchers.get(h.name) ?? 0, 'SIGKILL');

  state.hosts = plans.map((h) => ({
    name: h.name,
    kind: h.kind,
    ip: h.ip,
    sshPort: 22,
    rootPassword: h.rootPassword,
    keyPath,
    sudoUser: SUDO_USER,
    sudoPassword: h.sudoPassword,
    hostKeyFingerprint: h.hostKey.fingerprint,
    refusesRoot: h.refusesRoot,
    pid: leaders.get(h.netns) ?? 0,
    netns: h.netns,
  }));
  const missing = state.hosts.filter((h) => !h.pid).map((h) => h.name);
  if (missing.length) throw new Error(`could not find the init process of ${missing.join(', ')}`);
  // sshd answers before boot ends, and until systemd-user-sessions runs, /run/nologin refuses every
  // user but root: wait for the whole boot, so a returned system host is fully usable.
  const waitSecs = Math.max(120, Math.round((deadline - Date.now()) / 1000));
  await inBatches(
    state.hosts.filter((h) => h.kind === 'system'),
    8,
    async (h) => {
      const r = await hostExec(state, h.name, [
        'timeout',
        String(waitSecs),
        'systemctl',
        'is-system-running',
        '--wait',
      ]);
      const how = r.stdout.trim();
      if (how !== 'running' && how !== 'degraded') {
        throw new Error(
          `${h.name} did not finish booting (systemctl is-system-running: ${how || r.stderr.trim()})`,
        );
      }
    },
  );
  await writeClientFiles(state, new Map(plans.map((h) => [h.name, h.hostKey.publicKey])));
  state.complete = true;
  await writePrivate(statePath(id), JSON.stringify(state, null, 2));
  log(`lab ${id}: ${plans.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return state;
}

async function failWithLog(h: HostPlan, e: Error): Promise<never> {
  const tail = (await readFile(`${h.dir}/log`, 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .slice(-8)
    .join('\n');
  throw new Error(`${h.name}: ${e.message}${tail ? `; its log ends:\n${tail}` : ''}`);
}

async function inBatches<T, R>(
  items: T[],
  width: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Each host's PID 1 (as the machine numbers it): the process in its netns that is PID 1 of its own PID namespace. */
async function leadersByNetns(hosts: { netns: string }[]): Promise<Map<string, number>> {
  const byInode = new Map<number, string>();
  for (const h of hosts) {
    const ino = await netnsInode(h.netns);
    if (ino !== undefined) byInode.set(ino, h.netns);
  }
  const found = new Map<string, number>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const m = /^net:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/ns/net`).catch(() => ''));
    const netns = m ? byInode.get(Number(m[1])) : undefined;
    if (!netns) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    if (nspid.length > 1 && nspid.at(-1) === '1') found.set(netns, pid);
  }
  return found;
}

async function writeClientFiles(s: LabState, publicKeys: Map<string, string>): Promise<void> {
  const known = s.hosts.map((h) => {
    const key = (publicKeys.get(h.name) ?? '').split(' ').slice(0, 2).join(' ');
    return `${h.name},${h.ip} ${key}`;
  });
  await writePrivate(s.knownHostsPath, known.join('\n') + '\n');
  const cfg = s.hosts.map((h) =>
    [
      `Host ${h.name}`,
      `  HostName ${h.ip}`,
      '  User root',
      `  IdentityFile ${h.keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${s.knownHostsPath}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  await writePrivate(s.sshConfigPath, cfg.join('\n'));
}

const INOTIFY = '/proc/sys/fs/inotify/max_user_instances';
const INOTIFY_SAVED = `${STATE_ROOT}/inotify.orig`;
/** systemd in each system host holds several inotify instances; 128 stops at about 20 hosts. */
const INOTIFY_WANTED = 8192;

async function raiseInotify(): Promise<void> {
  const current = Number((await readFile(INOTIFY, 'utf8')).trim());
  if (current >= INOTIFY_WANTED) return;
  await writeFile(INOTIFY_SAVED, String(current), { flag: 'wx' }).catch(() => {});
  await writeFile(INOTIFY, String(INOTIFY_WANTED));
}

async function restoreInotify(exceptId: string): Promise<void> {
  const saved = await readFile(INOTIFY_SAVED, 'utf8').catch(() => undefined);
  if (saved === undefined) return;
  for (const other of await labIds()) {
    if (other === exceptId) continue;
    if (((await readState(other))?.shape?.system ?? 0) > 0) return;
  }
  await writeFile(INOTIFY, saved.trim());
  await rm(INOTIFY_SAVED, { force: true });
}

/** The lab's processes: everything in its namespaces, plus its nspawn supervisors. */
async function labProcesses(id: string) {
  const inodes = new Set<number>();
  for (const n of await existingNetns(id)) {
    const ino = await netnsInode(n);
    if (ino !== undefined) inodes.add(ino);
  }
  return findProcesses(inodes, `--machine=${sealedNetns(id)}.`);
}

async function teardown(id: string): Promise<void> {
  const s = await readState(id);
  const found = await labProcesses(id);
  // nspawn turns SIGTERM into an orderly shutdown of its container; a light host ends with its sshd.
  const leaders = new Set((s?.hosts ?? []).filter((h) => h.kind === 'light').map((h) => h.pid));
  const first = [...found.byArg, ...found.inNetns.filter((p) => leaders.has(p))];
  for (const pid of first) signal(pid, 'SIGTERM');
  const all = async () => {
    const f = await labProcesses(id);
    return [...f.inNetns, ...f.byArg];
  };
  let left = await waitGone(await all(), first.length ? 10_000 : 0);
  for (const pid of left) signal(pid, 'SIGKILL');
  left = await waitGone(await all(), 5000);
  if (left.length) throw new Error(`lab ${id}: processes ${left.join(' ')} did not exit`);
  await deleteNetwork(id, s?.slot);
  await rm(labDir(id), { recursive: true, force: true });
  await restoreInotify(id);
}

/** Tears a lab down completely; a lab that does not exist is left alone. */
export async function labDown(id: string = DEFAULT_ID): Promise<void> {
  checkId(id);
  await ensureStateRoot();
  await withLock(lockPath(id), 30 * 60_000, () => teardown(id));
}

/** The recorded lab, or undefined when there is none. Add `problems` to see whether it is healthy. */
export async function labStatus(
  id: string = DEFAULT_ID,
): Promise<(Lab & { problems: string[] }) | undefined> {
  const s = await readState(checkId(id));
  if (!s?.complete) return undefined;
  return { ...publicLab(s), problems: await problems(s) };
}

function findHost(lab: Lab, name: string): LabHost {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h)
    throw new Error(`no host "${name}" in lab ${lab.id} (hosts: ${lab.hosts.map((x) => x.name).join(' ')})`);
  return h;
}

/**
 * Runs argv inside a host by entering its namespaces (not over SSH), as root, with a clean
 * environment. Meant for test assertions and set-up.
 */
export async function hostExec(
  lab: Lab,
  host: string,
  argv: string[],
  opts: { input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const h = findHost(lab, host);
  const ns = ['--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd'];
  if (h.kind === 'system') ns.push('--cgroup');
  return run(['nsenter', `--target=${h.pid}`, ...ns, '--', ...argv], { input: opts.input, env: CLEAN_ENV });
}

export type FaultKind = 'down' | 'up' | 'slow' | 'hostkey' | 'fast';

/**
 * - down / up: cut or restore the host's link at the bridge (the host keeps running; clients time out).
 * - slow MS: every connection to its sshd takes MS longer to open and each round trip MS longer.
 * - fast: undo slow.
 * - hostkey: a new host key, sshd restarted; status and the lab's known_hosts show the new key.
 */
export async function fault(lab: Lab, host: string, kind: FaultKind, ms?: number): Promise<void> {
  const h = findHost(lab, host);
  await withLock(lockPath(lab.id), 60_000, async () => {
    const s = await readState(lab.id);
    if (!s?.complete) throw new Error(`lab ${lab.id} is not up`);
    switch (kind) {
      case 'down':
      case 'up':
        await setLink(lab.id, h.name, kind === 'up');
        return;
      case 'slow':
        if (!ms || !Number.isInteger(ms) || ms <= 0) throw new Error(`slow needs a delay in ms, got ${ms}`);
        await setSlow(s, h, ms);
        return;
      case 'fast':
        await setSlow(s, h, undefined);
        return;
      case 'hostkey':
        await newHostKey(lab, s, h);
        return;
      default:
        throw new Error(`unknown fault "${kind}" (down, up, slow MS, fast, hostkey)`);
    }
  });
}

async function newHostKey(lab: Lab, s: LabState, h: LabHost): Promise<void> {
  const key = generateEd25519(`root@${h.name}`);
  const write = (path: string, text: string, mode: string) =>
    hostExec(
      lab,
      h.name,
      ['sh', '-c', `umask 077; cat >"$0.new" && chmod ${mode} "$0.new" && mv "$0.new" "$0"`, path],
      {
        input: text,
      },
    ).then((r) => {
      if (r.code !== 0) throw new Error(`writing ${path} on ${h.name}: ${r.stderr}`);
    });
  await write('/etc/ssh/ssh_host_ed25519_key', key.privateKey, '600');
  await write('/etc/ssh/ssh_host_ed25519_key.pub', `${key.publicKey}\n`, '644');
  if (h.kind === 'light') {
    // sshd re-executes itself on SIGHUP, keeping its PID: the host's PID 1 survives the restart.
    signal(h.pid, 'SIGHUP');
  } else {
    const r = await hostExec(lab, h.name, ['systemctl', 'restart', 'ssh.service']);
    if (r.code !== 0) throw new Error(`restarting sshd on ${h.name}: ${r.stderr}`);
  }
  await sleep(100);
  await waitForSsh(h.ip, Date.now() + 30_000);
  const known = (await readFile(s.knownHostsPath, 'utf8')).split('\n').filter(Boolean);
  const mine = `${h.name},${h.ip} `;
  const line = `${mine}${key.publicKey.split(' ').slice(0, 2).join(' ')}`;
  await writePrivate(s.knownHostsPath, known.map((l) => (l.startsWith(mine) ? line : l)).join('\n') + '\n');
  for (const x of [s.hosts.find((y) => y.name === h.name), h]) if (x) x.hostKeyFingerprint = key.fingerprint;
  await writePrivate(statePath(s.id), JSON.stringify(s, null, 2));
}

const RELAY = fileURLToPath(new URL('./slow-relay.ts', import.meta.url));
const relayPidPath = (s: LabState) => `${s.dir}/slow-relay.pid`;

async function setSlow(s: LabState, h: LabHost, ms: number | undefined): Promise<void> {
  const plan = addressPlan(s.slot);
  const path = `${s.dir}/slow.json`;
  const entries: Record<string, SlowEntry> = JSON.parse(await readFile(path, 'utf8').catch(() => '{}'));
  const port = 20000 + s.hosts.indexOf(s.hosts.find((x) => x.name === h.name)!);
  const rule = [
    'PREROUTING',
    '-d',
    h.ip,
    '-p',
    'tcp',
    '--dport',
    '22',
    '-j',
    'DNAT',
    '--to-destination',
    `${plan.bridgeIp}:${port}`,
  ];
  if (ms === undefined) {
    if (!entries[h.name]) return;
    await sealedIptables(s.id, ['-D', ...rule]);
    delete entries[h.name];
  } else {
    entries[h.name] = { ip: h.ip, port, listen: plan.bridgeIp, ms };
  }
  await writeFile(path, JSON.stringify(entries));
  const pid = Number(await readFile(relayPidPath(s), 'utf8').catch(() => '0'));
  // Only a process in the sealed namespace can be our relay; a recycled PID elsewhere is not.
  const running =
    pid > 0 && (await isAlive(pid)) && (await nsInode(pid, 'net')) === (await netnsInode(sealedNetns(s.id)));
  if (Object.keys(entries).length === 0) {
    if (running) signal(pid, 'SIGTERM');
    await rm(relayPidPath(s), { force: true });
    return;
  }
  if (running) {
    signal(pid, 'SIGHUP');
  } else {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const fd = openSync(`${s.dir}/slow-relay.log`, 'a', 0o600);
    const child = spawn(
      'nsenter',
      [`--net=/run/netns/${sealedNetns(s.id)}`, '--', process.execPath, '--import', tsx, RELAY, s.dir],
      { detached: true, stdio: ['ignore', fd, fd], env: CLEAN_ENV, cwd: '/' },
    );
    closeSync(fd);
    child.on('error', () => {});
    child.unref();
    await writeFile(relayPidPath(s), String(child.pid));
  }
  if (ms !== undefined) {
    await waitForPort(plan.bridgeIp, port, Date.now() + 20_000);
    await sealedIptables(s.id, ['-C', ...rule]).catch(() => sealedIptables(s.id, ['-A', ...rule]));
  }
}

async function sealedIptables(id: string, args: string[]): Promise<void> {
  // Bridged packets only meet iptables when bridge-nf-call-iptables is on in the sealed namespace.
  await must([
    'nsenter',
    `--net=/run/netns/${sealedNetns(id)}`,
    '--',
    'sh',
    '-c',
    'echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables && exec iptables -w -t nat "$@"',
    'sh',
    ...args,
  ]);
}

async function waitForPort(ip: string, port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: ip, port });
      sock.on('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the slow relay did not listen on ${ip}:${port}`);
    await sleep(100);
  }
}
