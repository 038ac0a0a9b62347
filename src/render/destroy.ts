import { raw, type Script, script, sh } from '../fleet/script.js';
import { bootRemoveLines } from '../ha/updater/boot.js';
import { NODE_STATE_DIR, WARN } from './files.js';
import { HAPROXY_MANIFEST } from './haproxy.js';
import { hostsRemoveLines } from './hosts.js';
import type { RenderInput } from './inputs.js';
import { KUBEADM_DROPIN_PATH, KUBELET_UNIT_PATH } from './kubelet.js';
import {
  CLUSTER_FILE,
  FSTAB_MARK,
  LIMITS_FILE,
  MODULES_FILE,
  PREEXISTING_FILE,
  RESTORE_DIR,
  STATE_DIRS,
  SYSCTL_FILE,
} from './os.js';
import { CONTAINERD_UNIT_PATH, CRI_SOCKET, CRICTL_CONFIG, RUNTIME_BINARIES } from './runtime.js';

/**
 * Takes away what create put on a node and nothing else: the node must be this cluster's (a node
 * without kubeon's owner file only loses the artifact bundle), and what OS preparation changed outside kubeon's own files (fstab swap lines,
 * firewall, SELinux) is put back as it was.
 */

/** Interfaces kube-proxy and the CNI plugins create. */
const LINKS = ['kube-ipvs0', 'cni0', 'vxlan.calico', 'tunl0', 'cilium_host', 'cilium_net', 'cilium_vxlan'];

export function destroyScript(input: Pick<RenderInput, 'spec' | 'version'>): Script {
  const name = input.spec.name;
  const files = [
    KUBELET_UNIT_PATH,
    CONTAINERD_UNIT_PATH,
    CRICTL_CONFIG,
    HAPROXY_MANIFEST,
    SYSCTL_FILE,
    MODULES_FILE,
    LIMITS_FILE,
    '/usr/bin/kubeadm',
    '/usr/bin/kubelet',
    '/usr/bin/kubectl',
    ...RUNTIME_BINARIES,
  ];
  return script(
    `remove cluster ${name} from the node`,
    WARN,
    sh`cluster=${name}`,
    sh`owner=$(cat -- ${CLUSTER_FILE} 2>/dev/null || true)`,
    raw('if [ -n "$owner" ] && [ "$owner" != "$cluster" ]; then'),
    raw('  echo "this node belongs to cluster $owner, not $cluster: nothing removed" >&2; exit 1'),
    raw('fi'),
    // No owner: OS preparation never got as far as its first change, so only the bundle can be
    // kubeon's; any Kubernetes found here is someone else's and stays.
    raw('if [ -z "$owner" ]; then'),
    sh`  rm -rf -- ${`/opt/kubeon/${input.version}`} ${NODE_STATE_DIR}`,
    raw('  rmdir /opt/kubeon 2>/dev/null || true'),
    raw('  echo "nothing of cluster $cluster on this node"; exit 0'),
    raw('fi'),
    raw('if command -v kubeadm >/dev/null 2>&1 && [ -d /etc/kubernetes ]; then'),
    sh`  kubeadm reset -f --cri-socket ${CRI_SOCKET} || warn "kubeadm reset failed; removing the files anyway"`,
    raw('fi'),
    // The updater mode's boot unit and waiter (src/ha/updater/boot.ts), gone before /opt/kubeon is.
    ...bootRemoveLines(name),
    raw('for u in kubelet containerd; do'),
    raw('  systemctl disable --now "$u" 2>/dev/null || true'),
    raw('done'),
    // Shims outlive containerd (KillMode=process); their containers hold mounts under the state dirs.
    raw(
      'for p in $(pgrep -x containerd-shim-runc-v2 2>/dev/null || true); do kill "$p" 2>/dev/null || true; done',
    ),
    raw(
      'awk \'$5 ~ "^/(var/lib/kubelet|run/containerd|var/lib/containerd|run/netns)/" { print $5 }\' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || warn "cannot unmount $m"; done',
    ),
    sh`for l in ${LINKS}; do`,
    raw(
      '  if ip link show "$l" >/dev/null 2>&1; then ip link delete "$l" 2>/dev/null || warn "cannot delete interface $l"; fi',
    ),
    raw('done'),
    sh`rm -f -- ${files}`,
    sh`rm -rf -- ${KUBEADM_DROPIN_PATH.replace(/\/[^/]+$/, '')} ${`/opt/kubeon/${input.version}`}`,
    sh`pre=${PREEXISTING_FILE}`,
    sh`for d in ${STATE_DIRS}; do`,
    raw('  if [ -f "$pre" ] && grep -qxF -- "$d" "$pre"; then'),
    raw('    find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +'),
    raw('  else'),
    raw('    rm -rf -- "$d"'),
    raw('  fi'),
    raw('done'),
    raw('rmdir /opt/kubeon 2>/dev/null || true'),
    ...hostsRemoveLines(name),
    // Put back what OS preparation changed outside kubeon's own files.
    sh`mark=${FSTAB_MARK}`,
    raw('if [ -f /etc/fstab ] && grep -qF -- "$mark" /etc/fstab; then'),
    raw('  tmp=$(mktemp /etc/.fstab.kubeon-XXXXXX)'),
    sh`  M="$mark" awk -v n=${FSTAB_MARK.length} 'index($0, ENVIRON["M"]) == 1 { print substr($0, n + 1); next } { print }' /etc/fstab > "$tmp"`,
    raw('  chmod --reference=/etc/fstab -- "$tmp" && mv -f -- "$tmp" /etc/fstab'),
    raw('fi'),
    sh`restore=${RESTORE_DIR}`,
    raw(
      'if [ -e "$restore/firewalld" ]; then systemctl enable --now firewalld || warn "cannot re-enable firewalld"; fi',
    ),
    raw('if [ -e "$restore/ufw" ]; then ufw --force enable || warn "cannot re-enable ufw"; fi'),
    raw(
      'if [ -e "$restore/selinux-config" ]; then sed -i "s/^SELINUX=permissive/SELINUX=enforcing/" /etc/selinux/config; fi',
    ),
    raw(
      'if [ -e "$restore/selinux-enforcing" ]; then setenforce 1 || warn "cannot set SELinux back to enforcing"; fi',
    ),
    sh`rm -rf -- ${NODE_STATE_DIR}`,
    raw('systemctl daemon-reload 2>/dev/null || true'),
  );
}
