import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ClusterSpec } from '../cluster/spec.js';
import { writeFileAtomic } from '../core/atomic.js';
import { KubeonError } from '../core/errors.js';
import type { Fleet } from '../fleet/fleet.js';
import { type Script, script, sh } from '../fleet/script.js';
import type { FleetTarget } from '../fleet/types.js';
import { CAS, kubeconfigProfiles, leafProfiles, type PkiNode } from './profiles.js';
import { nodeDir } from './store.js';

/**
 * Putting a master's PKI where kubeadm looks for it, before `kubeadm init/join`: kubeadm then reuses
 * every file (after checking key, signer and SANs) instead of making its own one-year ones. Modes are
 * kubeadm's own: certificates 0644, keys, sa.pub and kubeconfigs 0600, directories 0755, all
 * root:root.
 */

export interface PlacedFile {
  path: string;
  content: string;
  mode: number;
  owner: 'root:root';
}

export const KUBERNETES_DIR = '/etc/kubernetes';
export const PKI_DIR = '/etc/kubernetes/pki';

export interface PlacementOptions {
  /** Include kubelet.conf (the first master before `kubeadm init`; never after, kubelet rotates it). */
  kubelet: boolean;
}

/** pki-relative names of what every master shares: the three CAs and the service-account pair. */
export function sharedFiles(): string[] {
  return [...CAS.flatMap((c) => [`${c.file}.crt`, `${c.file}.key`]), 'sa.key', 'sa.pub'];
}

function modeOf(path: string): number {
  return path.endsWith('.crt') ? 0o644 : 0o600;
}

/**
 * The files to place on one master, from the texts kubeon made (pure). `shared` is keyed by
 * pki-relative name, `own` by the path under the node's directory (pki/… and *.conf).
 */
export function planPlacement(
  spec: ClusterSpec,
  version: string,
  node: PkiNode,
  shared: Record<string, string>,
  own: Record<string, string>,
  opts: PlacementOptions,
): PlacedFile[] {
  const need = (map: Record<string, string>, key: string, where: string) => {
    const v = map[key];
    if (v === undefined) {
      throw new KubeonError(`${where}${key} is missing from kubeon's PKI`, {
        hint: `run kubeon certs ${spec.name} renew to make it`,
      });
    }
    return v;
  };
  const files: PlacedFile[] = [];
  for (const rel of sharedFiles()) {
    files.push({
      path: `${PKI_DIR}/${rel}`,
      content: need(shared, rel, ''),
      mode: modeOf(rel),
      owner: 'root:root',
    });
  }
  for (const leaf of leafProfiles(spec, node, version)) {
    for (const ext of ['crt', 'key']) {
      const rel = `pki/${leaf.file}.${ext}`;
      files.push({
        path: `${KUBERNETES_DIR}/${rel}`,
        content: need(own, rel, `${node.name}/`),
        mode: modeOf(rel),
        owner: 'root:root',
      });
    }
  }
  for (const kc of kubeconfigProfiles(spec, node, version, { first: opts.kubelet })) {
    files.push({
      path: `${KUBERNETES_DIR}/${kc.file}`,
      content: need(own, kc.file, `${node.name}/`),
      mode: 0o600,
      owner: 'root:root',
    });
  }
  return files;
}

/** Reads what planPlacement needs from the control machine's pki directory. */
export async function readPlacement(
  pkiDir: string,
  spec: ClusterSpec,
  version: string,
  node: PkiNode,
  opts: PlacementOptions,
): Promise<PlacedFile[]> {
  const read = async (path: string) => readFile(path, 'utf8').catch(() => undefined);
  const shared: Record<string, string> = {};
  for (const rel of sharedFiles()) {
    const text = await read(join(pkiDir, rel));
    if (text !== undefined) shared[rel] = text;
  }
  const own: Record<string, string> = {};
  const dir = nodeDir(pkiDir, node.name);
  for (const leaf of leafProfiles(spec, node, version)) {
    for (const ext of ['crt', 'key']) {
      const rel = `pki/${leaf.file}.${ext}`;
      const text = await read(join(dir, rel));
      if (text !== undefined) own[rel] = text;
    }
  }
  for (const kc of kubeconfigProfiles(spec, node, version, { first: true })) {
    const text = await read(join(dir, kc.file));
    if (text !== undefined) own[kc.file] = text;
  }
  return planPlacement(spec, version, node, shared, own, opts);
}

/** Fixes owners and directory modes after the copy (a sudo login copies as the login user). */
export function ownershipScript(files: readonly PlacedFile[]): Script {
  const dirs = [...new Set(files.map((f) => dirname(f.path)))].sort();
  return script(
    `own ${files.length} PKI file(s)`,
    sh`chown root:root -- ${dirs} ${files.map((f) => f.path)}`,
    sh`chmod 0755 -- ${dirs}`,
    ...files.map((f) => sh`chmod ${f.mode.toString(8).padStart(4, '0')} -- ${f.path}`),
  );
}

export type PlacementFleet = Pick<Fleet, 'put' | 'run'>;

/**
 * Copies `files` to one master through the fleet. They are staged in a private directory next to
 * the cluster's pki (keys stay inside kubeon's 0700 home), sent in one tree copy that only sends
 * what differs, then owned by root. Throws a KubeonError naming the node on failure.
 */
export async function placeFiles(
  fleet: PlacementFleet,
  target: FleetTarget,
  files: readonly PlacedFile[],
  stageParent: string,
): Promise<void> {
  const stage = join(stageParent, `.stage-${target.name}-${randomBytes(4).toString('hex')}`);
  await mkdir(stage, { recursive: true, mode: 0o700 });
  try {
    for (const f of files) {
      if (!f.path.startsWith(`${KUBERNETES_DIR}/`)) throw new Error(`refusing to place ${f.path}`);
      const local = join(stage, f.path.slice(KUBERNETES_DIR.length + 1));
      await mkdir(dirname(local), { recursive: true, mode: 0o700 });
      await writeFileAtomic(local, f.content, f.mode);
      await chmod(local, f.mode);
    }
    const [put] = await fleet.put([target], stage, KUBERNETES_DIR);
    if (put?.error) {
      throw new KubeonError(`placing the PKI on ${target.name} failed: ${put.error.message}`, {
        hint: 'fix the node and run the command again; files already placed are not sent twice',
      });
    }
    const [own] = await fleet.run([target], ownershipScript(files), { timeoutMs: 60_000 });
    if (own?.error) {
      throw new KubeonError(`setting owners of the PKI on ${target.name} failed: ${own.error.message}`, {
        hint: 'fix the node and run the command again',
      });
    }
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
