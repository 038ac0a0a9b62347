import { raw, type Script, script, sh } from '../../fleet/script.js';

/**
 * The scripts of an upgrade, pure functions of their inputs. Certificates are never renewed by
 * kubeadm here (`--certificate-renewal=false`, in every version): kubeon's leaves are valid for 100
 * years and re-issued only by `kubeon certs renew`, from the PKI it keeps on the control machine;
 * kubeadm's renewal would give one-year leaves below 1.31 and leaves the control machine never saw.
 */

const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

/** The new kubeadm from the node's bundle, before it plans anything. */
export function installKubeadmScript(bundleDir: string): Script {
  return script(
    'install the new kubeadm',
    sh`b=${bundleDir}`,
    raw(
      '[ -f "$b/kubeadm" ] || { echo "$b/kubeadm is missing: the artifact bundle did not arrive" >&2; exit 1; }',
    ),
    raw('install -m 0755 "$b/kubeadm" /usr/bin/kubeadm'),
  );
}

/** `upgrade apply` on the first master; `upgrade node` on every other node. */
export function kubeadmUpgradeScript(first: boolean, version: string): Script {
  return first
    ? script('kubeadm upgrade apply', sh`kubeadm upgrade apply ${version} --yes --certificate-renewal=false`)
    : script('kubeadm upgrade node', raw('kubeadm upgrade node --certificate-renewal=false'));
}

export function restartKubeletScript(): Script {
  return script('restart the kubelet', raw('systemctl daemon-reload'), raw('systemctl restart kubelet'));
}

/** Cordons and drains nodes through the API, DaemonSet pods left in place. */
export function drainScript(names: readonly string[], timeoutSeconds: number): Script {
  return script(
    'drain nodes',
    sh`for n in ${names}; do`,
    sh`  ${raw(KUBECTL)} drain "$n" --ignore-daemonsets --delete-emptydir-data --timeout=${`${timeoutSeconds}s`}`,
    raw('done'),
  );
}

export function uncordonScript(names: readonly string[]): Script {
  return script('uncordon nodes', sh`${raw(KUBECTL)} uncordon ${names}`);
}

export function nodeTableScript(): Script {
  return script('list nodes', raw(`${KUBECTL} get nodes`));
}

export interface NodeRow {
  name: string;
  ready: boolean;
  schedulable: boolean;
  version: string;
}

/** `kubectl get nodes` as a table: NAME STATUS ROLES AGE VERSION (the table: JSON outgrows a step's output). */
export function parseNodeTable(table: string): Map<string, NodeRow> {
  const out = new Map<string, NodeRow>();
  const [header, ...rows] = table.split('\n');
  const cols = (header ?? '').trim().split(/\s+/);
  const vi = cols.indexOf('VERSION');
  for (const line of rows) {
    const f = line.trim().split(/\s+/);
    if (!f[0] || !f[1]) continue;
    const status = f[1].split(',');
    out.set(f[0], {
      name: f[0],
      ready: status.includes('Ready'),
      schedulable: !status.includes('SchedulingDisabled'),
      version: vi >= 0 ? (f[vi] ?? '') : '',
    });
  }
  return out;
}
