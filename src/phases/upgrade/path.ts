import {
  CATALOG,
  type Catalog,
  checkVersionSupported,
  type SupportedVersion,
} from '../../artifacts/catalog.js';
import { badInput } from '../../core/errors.js';

/**
 * Which upgrades kubeon takes: kubeadm's policy (one minor at a time, never down), checked on the
 * control machine before any node is contacted, with the path to take when a minor is skipped.
 */

export interface UpgradeStep {
  from: SupportedVersion;
  to: SupportedVersion;
  /** The catalog moves one of containerd, runc, the CNI plugins or crictl with the minor. */
  runtime: boolean;
  /** The network plugin's version changes with the minor. */
  cni: boolean;
  /** The HA mode's proxy image changes with the minor. */
  haproxy: boolean;
}

function order(v: SupportedVersion): number {
  return Number(v.minor.split('.')[1]) * 1e6 + v.patch;
}

/**
 * `current` is the version the cluster runs (its spec), `target` the one asked for. Returns
 * undefined when the cluster already runs `target`.
 */
export function upgradeStep(
  name: string,
  current: string,
  target: string,
  opts: { allowDotZero?: boolean } = {},
  catalog: Catalog = CATALOG,
): UpgradeStep | undefined {
  const from = checkVersionSupported(current, { allowDotZero: true }, catalog);
  const to = checkVersionSupported(target, opts, catalog);
  if (order(to) === order(from)) return undefined;
  if (order(to) < order(from))
    throw badInput(
      `cluster "${name}" runs ${from.version}; ${to.version} would be a downgrade, which kubeon does not do`,
      `give a version above ${from.version}, or restore an etcd snapshot taken before the upgrade (kubeon etcd ${name} snapshot restore FILE)`,
    );
  const a = Number(from.minor.split('.')[1]);
  const b = Number(to.minor.split('.')[1]);
  if (b - a > 1) {
    const path = Array.from({ length: b - a }, (_, i) => `1.${a + 1 + i}`);
    throw badInput(
      `cluster "${name}" runs ${from.version}; ${to.version} skips ${b - a - 1} minor(s), and kubeadm upgrades one minor at a time`,
      `upgrade through ${path.join(' then ')}: ${path.map((m) => `kubeon upgrade ${name} v${m}.N`).join(', then ')} (N: the latest patch of each)`,
    );
  }
  const runtimeParts = ['containerd', 'runc', 'cni', 'crictl'] as const;
  return {
    from,
    to,
    runtime: runtimeParts.some((k) => from[k] !== to[k]),
    cni: from.calico !== to.calico || from.cilium !== to.cilium,
    haproxy: from.haproxy !== to.haproxy,
  };
}

/** Workers upgraded at once: `--batch` (checked by the CLI), or a tenth of the workers (at least one). */
export function workerBatch(workers: number, batch?: number): number {
  return batch ?? Math.max(1, Math.ceil(workers / 10));
}
