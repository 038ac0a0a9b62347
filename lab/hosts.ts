import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { accountFiles, etcHosts, SUDO_USER, sshdConfig } from './accounts.js';
import { type AddressPlan, type HostKind, STATE_ROOT } from './layout.js';
import { hostIpBatch } from './network.js';
import { CLEAN_ENV, isAlive, must, sleep } from './proc.js';
import type { Ed25519Key } from './sshkeys.js';

export interface HostPlan {
  name: string;
  kind: HostKind;
  ip: string;
  netns: string;
  dir: string;
  refusesRoot: boolean;
  rootPassword: string;
  sudoPassword: string;
  hostKey: Ed25519Key;
}

/** What a host's files are made from: the lower layer's account tables and skeleton home. */
export interface BaseSystem {
  passwd: string;
  group: string;
  shadow: string;
  gshadow: string;
  skel: Map<string, string>;
  shadowGid: number;
}

export async function readBaseSystem(root: string): Promise<BaseSystem> {
  const read = (p: string) => readFile(`${root}${p}`, 'utf8');
  const [passwd, group, shadow, gshadow] = await Promise.all([
    read('/etc/passwd'),
    read('/etc/group'),
    read('/etc/shadow'),
    read('/etc/gshadow'),
  ]);
  const skel = new Map<string, string>();
  for (const f of await readdir(`${root}/etc/skel`).catch(() => [] as string[])) {
    skel.set(f, await read(`/etc/skel/${f}`).catch(() => ''));
  }
  const shadowLine = group.split('\n').find((l) => l.startsWith('shadow:'));
  return { passwd, group, shadow, gshadow, skel, shadowGid: Number(shadowLine?.split(':')[2] ?? 0) };
}

const INIT = fileURLToPath(new URL('./light-init.sh', import.meta.url));

async function file(path: string, data: string, mode = 0o644, uid = 0, gid = 0): Promise<void> {
  await writeFile(path, data, { mode });
  // writeFile's mode is filtered by the umask and ignored for existing files.
  await chmod(path, mode);
  if (uid || gid) await chown(path, uid, gid);
}

async function dir(path: string, mode = 0o755, uid = 0, gid = 0): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
  if (uid || gid) await chown(path, uid, gid);
}

async function writeEtc(etc: string, h: HostPlan, base: BaseSystem, rootHash: string, userHash: string) {
  const acc = accountFiles(base, rootHash, userHash);
  await dir(`${etc}/ssh`);
  await Promise.all([
    file(`${etc}/hostname`, `${h.name}\n`),
    file(`${etc}/hosts`, etcHosts(h.name, h.ip)),
    // Distinct machine ids, as on real machines (kubelet and systemd rely on them).
    file(`${etc}/machine-id`, `${randomBytes(16).toString('hex')}\n`),
    file(`${etc}/passwd`, acc.passwd),
    file(`${etc}/group`, acc.group),
    file(`${etc}/shadow`, acc.shadow, 0o640, 0, base.shadowGid),
    file(`${etc}/gshadow`, acc.gshadow, 0o640, 0, base.shadowGid),
    file(`${etc}/ssh/sshd_config`, sshdConfig(!h.refusesRoot)),
    file(`${etc}/ssh/ssh_host_ed25519_key`, h.hostKey.privateKey, 0o600),
    file(`${etc}/ssh/ssh_host_ed25519_key.pub`, `${h.hostKey.publicKey}\n`),
  ]);
  return acc;
}

async function writeHome(
  home: string,
  skel: Map<string, string> | undefined,
  key: string,
  uid: number,
  gid: number,
) {
  await dir(home, uid ? 0o755 : 0o700, uid, gid);
  await dir(`${home}/.ssh`, 0o700, uid, gid);
  await file(`${home}/.ssh/authorized_keys`, `${key}\n`, 0o600, uid, gid);
  for (const [name, text] of skel ?? []) await file(`${home}/${name}`, text, 0o644, uid, gid);
}

/**
 * Light host: overlays of the machine's /etc and /var, fresh binds for the rest, all mounted by a
 * single `mount -a` inside the host. Sources get unique names ("lab-run", ...) because `mount -a`
 * skips an entry whose source and target match a mount it can already see.
 */
function lightFstab(d: string): string {
  return [
    `overlay /etc overlay lowerdir=/etc,upperdir=${d}/etc.up,workdir=${d}/etc.wk 0 0`,
    `overlay /var overlay lowerdir=/var,upperdir=${d}/var.up,workdir=${d}/var.wk 0 0`,
    // Installers put binaries in /usr/bin; they must land in the host, not on the machine.
    `overlay /usr overlay lowerdir=/usr,upperdir=${d}/usr.up,workdir=${d}/usr.wk 0 0`,
    `${d}/root /root none bind 0 0`,
    `${d}/home /home none bind 0 0`,
    `${d}/usrlocal /usr/local none bind 0 0`,
    `${d}/opt /opt none bind 0 0`,
    `${d}/tmp /tmp none bind 0 0`,
    `${d}/vartmp /var/tmp none bind 0 0`,
    'lab-run /run tmpfs mode=0755,nosuid,nodev,size=64m 0 0',
    // sshd's privilege-separation directory; X-mount.mkdir saves a mkdir process.
    'lab-sshd /run/sshd tmpfs X-mount.mkdir=0755,mode=0755,size=16k 0 0',
    'lab-shm /dev/shm tmpfs nosuid,nodev,size=64m 0 0',
    // A fresh sysfs shows only the host's own interfaces.
    'lab-sysfs /sys sysfs ro,nosuid,nodev,noexec 0 0',
    // vm.*, kernel.* and fs.* are global to the machine: read-only, except the per-netns net.*.
    '/proc/sys/net /proc/sys/net none bind 0 0',
    '/proc/sys /proc/sys none rbind,ro 0 0',
    // The machine's own sysctl.d (kernel.pid_max, fs.protected_*) would make `sysctl --system` fail.
    'lab-hide /usr/lib/sysctl.d tmpfs ro,size=4k 0 0',
    // Every host's keys and passwords live here.
    `lab-hide ${STATE_ROOT} tmpfs ro,size=4k 0 0`,
    '',
  ].join('\n');
}

export async function prepareLight(
  h: HostPlan,
  base: BaseSystem,
  plan: AddressPlan,
  clientKey: string,
  hashes: [string, string],
) {
  const d = h.dir;
  await Promise.all(
    ['etc.wk', 'var.up', 'var.wk', 'usr.up', 'usr.wk', 'opt', 'home'].map((s) => dir(`${d}/${s}`)),
  );
  await Promise.all([dir(`${d}/tmp`, 0o1777), dir(`${d}/vartmp`, 0o1777)]);
  await Promise.all(
    ['bin', 'sbin', 'lib', 'share', 'etc', 'include', 'src'].map((s) => dir(`${d}/usrlocal/${s}`)),
  );
  const acc = await writeEtc(`${d}/etc.up`, h, base, hashes[0], hashes[1]);
  await writeHome(`${d}/root`, base.skel, clientKey, 0, 0);
  await writeHome(`${d}/home/${SUDO_USER}`, base.skel, clientKey, acc.uid, acc.gid);
  await file(`${d}/fstab`, lightFstab(d));
  await file(`${d}/ip.batch`, hostIpBatch(h.ip, plan));
}

export async function prepareSystem(
  h: HostPlan,
  base: BaseSystem,
  clientKey: string,
  hashes: [string, string],
) {
  const up = `${h.dir}/upper`;
  await Promise.all([dir(`${h.dir}/work`), dir(`${h.dir}/merged`), dir(up)]);
  // Where the host's own netns is bind-mounted inside its nspawn mount namespace.
  await file(`${h.dir}/netns`, '', 0o600);
  await dir(`${up}/etc`);
  const acc = await writeEtc(`${up}/etc`, h, base, hashes[0], hashes[1]);
  // The rootfs already has root's dot-files; the upper /root only adds the key.
  await writeHome(`${up}/root`, undefined, clientKey, 0, 0);
  await dir(`${up}/home`);
  await writeHome(`${up}/home/${SUDO_USER}`, base.skel, clientKey, acc.uid, acc.gid);
}

function spawnDetached(argv: string[], logPath: string, env: Record<string, string>): number {
  const fd = openSync(logPath, 'a', 0o600);
  try {
    const [cmd, ...args] = argv;
    const child = spawn(cmd as string, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: '/' });
    child.on('error', () => {});
    child.unref();
    if (!child.pid) throw new Error(`could not start ${cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function launchLight(h: HostPlan): number {
  return spawnDetached(
    [
      'nsenter',
      `--net=/run/netns/${h.netns}`,
      '--',
      'unshare',
      '--mount',
      '--uts',
      '--ipc',
      '--pid',
      '--fork',
      '--mount-proc',
      '--propagation',
      'private',
      '/bin/sh',
      INIT,
      h.name,
      h.dir,
    ],
    `${h.dir}/log`,
    CLEAN_ENV,
  );
}

/** Capabilities beyond nspawn's default set: iptables and net sysctls, and mlock for etcd. */
const SYSTEM_CAPS = 'CAP_NET_ADMIN,CAP_IPC_LOCK';

export async function launchSystem(h: HostPlan, rootfs: string, plan: AddressPlan, machineName: string) {
  await must(['ip', '-n', h.netns, '-b', '-'], { input: hostIpBatch(h.ip, plan) });
  // The overlay is mounted in a private mount namespace that nspawn then inherits, so it vanishes
  // with the host and the machine's mount table never holds it. That namespace starts as a copy of
  // the machine's, whose /run/netns mounts would keep every other lab's namespaces alive for as long
  // as this host lives: only the host's own netns is kept, at a private path.
  const mountThenExec = [
    'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"',
    'mount --bind "/run/netns/$5" "$6"',
    'umount -l /run/netns',
    'shift 6',
    'exec "$@"',
  ].join(' && ');
  return spawnDetached(
    [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      mountThenExec,
      'sh',
      rootfs,
      `${h.dir}/upper`,
      `${h.dir}/work`,
      `${h.dir}/merged`,
      h.netns,
      `${h.dir}/netns`,
      'systemd-nspawn',
      '--quiet',
      `--directory=${h.dir}/merged`,
      '--boot',
      // No systemd PID 1 on the machine to register with or to create a scope unit.
      '--register=no',
      '--keep-unit',
      `--machine=${machineName}`,
      `--hostname=${h.name}`,
      `--network-namespace-path=${h.dir}/netns`,
      `--capability=${SYSTEM_CAPS}`,
      '--console=passive',
      '--link-journal=no',
      '--resolv-conf=off',
      '--timezone=off',
      // The Kubernetes stand-ins are Node scripts (#!/usr/bin/env node).
      '--bind-ro=/usr/bin/node',
    ],
    `${h.dir}/log`,
    // Lets the host write its own net.* sysctls (ip_forward, bridge-nf-call-iptables).
    { ...CLEAN_ENV, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' },
  );
}

/** Resolves once sshd at ip:22 sends its banner. */
export async function waitForSsh(ip: string, deadline: number, launcher?: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: ip, port: 22, timeout: 2000 });
      let buf = '';
      sock.on('data', (b) => {
        buf += b.toString();
        if (buf.includes('SSH-')) {
          sock.destroy();
          resolve(true);
        }
      });
      sock.on('error', () => resolve(false));
      sock.on('timeout', () => {
        sock.destroy();
        resolve(false);
      });
      sock.on('close', () => resolve(false));
    });
    if (ok) return;
    if (launcher !== undefined && !(await isAlive(launcher)))
      throw new Error(`its init exited before sshd answered`);
    if (Date.now() > deadline) throw new Error(`sshd on ${ip} did not answer in time`);
    await sleep(100);
  }
}
