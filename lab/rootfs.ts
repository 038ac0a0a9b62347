import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ROOTFS_CACHE, withLock } from './layout.js';
import { isAlive, must } from './proc.js';

/**
 * What system hosts carry. Everything an installer needs from the OS sits here, because hosts have
 * no route to any package mirror (a loopback apt proxy may serve more later).
 */
export const ROOTFS_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'sudo',
  'iproute2',
  'iptables',
  'ca-certificates',
  'etcd-server',
  'etcd-client',
  'haproxy',
  'openssl',
  'conntrack',
  'socat',
  // kubeon's OS preparation installs what is missing; the lab has no package mirror to get it from.
  'ipset',
  'procps',
  'kmod',
  'curl',
  'tar',
  'gzip',
  // kubeadm's preflight checks warn without these.
  'ebtables',
  'ethtool',
  'iputils-ping',
  'less',
];

/** Bump when rootfs.sh changes what it does to the tree, so caches built by the old script are not reused. */
const FORMAT = 1;

export function rootfsPath(): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([FORMAT, ROOTFS_PACKAGES]))
    .digest('hex')
    .slice(0, 12);
  return `${ROOTFS_CACHE}/rootfs-bookworm-${hash}`;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * Returns the cached rootfs, building it first if needed (about 1 minute with a nearby Debian
 * mirror). The build goes to a temporary directory renamed into place on success, so an
 * interrupted build is never reused; concurrent callers wait on a lock.
 */
export async function ensureRootfs(log: (msg: string) => void = () => {}): Promise<string> {
  const path = rootfsPath();
  if (await exists(path)) return path;
  await mkdir(ROOTFS_CACHE, { recursive: true, mode: 0o755 });
  return withLock(`${ROOTFS_CACHE}/.build.lock`, 30 * 60_000, async () => {
    if (await exists(path)) return path;
    for (const name of await readdir(ROOTFS_CACHE)) {
      const m = /^\.build-.*-(\d+)$/.exec(name);
      if (m && !(await isAlive(Number(m[1]))))
        await rm(`${ROOTFS_CACHE}/${name}`, { recursive: true, force: true });
    }
    const tmp = `${ROOTFS_CACHE}/.build-${path.split('-').pop()}-${process.pid}`;
    log(`building system-host rootfs with debootstrap into ${path} (once; about a minute)`);
    const script = fileURLToPath(new URL('./rootfs.sh', import.meta.url));
    try {
      await must(['bash', script, tmp, ...ROOTFS_PACKAGES]);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return path;
  });
}
