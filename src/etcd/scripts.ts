import { type Script, script, sh } from '../fleet/script.js';
import { STATIC_PODS } from '../pki/renew.js';

/**
 * The scripts `kubeon etcd` runs on masters. Pure: every input is a parameter, nothing reads the
 * clock, and every interpolated value goes through the `sh` tag.
 *
 * kubeadm's stacked etcd keeps its PKI in /etc/kubernetes/pki/etcd on the host and mounts it into the
 * etcd container at the same path, so the same flags serve a host etcdctl and one inside the container.
 */

const PKI = '/etc/kubernetes/pki/etcd';
const MANIFESTS = '/etc/kubernetes/manifests';
/** Where a restore parks the control-plane manifests while etcd is stopped. */
export const RESTORE_PARK = '/etc/kubernetes/manifests.kubeon-etcd-restore';
/** Where the snapshot to restore is placed on each master (0600: it holds every Secret). */
export const RESTORE_STAGE = '/var/lib/kubeon/etcd-restore';
export const RESTORE_SNAPSHOT = `${RESTORE_STAGE}/snapshot.db`;

/**
 * `kubeon etcd NAME -- ARGS`: etcdctl against the master's own member, with the healthcheck client
 * certificate kubeadm made for etcd's probes. The node's etcdctl when it has one; otherwise the one
 * in the running etcd container (kubeadm hosts carry none of their own). The arguments travel inside
 * the script, never on a command line.
 */
export function etcdctlScript(args: readonly string[]): Script {
  return script(
    'etcdctl',
    sh`set -- ${args}`,
    sh`tls="--endpoints=https://127.0.0.1:2379 --cacert=${PKI}/ca.crt --cert=${PKI}/healthcheck-client.crt --key=${PKI}/healthcheck-client.key"`,
    sh`if command -v etcdctl >/dev/null 2>&1; then ETCDCTL_API=3 exec etcdctl $tls "$@"; fi`,
    sh`id=$(crictl ps -q --name '^etcd$' --state running 2>/dev/null | head -n 1) || id=`,
    sh`if [ -z "$id" ]; then echo 'no etcdctl on this master and no running etcd container to run it in' >&2; exit 127; fi`,
    sh`exec crictl exec "$id" etcdctl $tls "$@"`,
  );
}

/**
 * Checks a master can be restored, changing nothing: an etcd manifest (in place, or parked by an
 * interrupted restore), and a restore tool (etcdutl from etcd 3.5, or etcdctl's own `snapshot restore`).
 * Prints `tool=…`.
 */
export function restoreProbeScript(): Script {
  return script(
    'check etcd restore prerequisites',
    sh`if [ ! -f ${MANIFESTS}/etcd.yaml ] && [ ! -f ${RESTORE_PARK}/etcd.yaml ]; then echo 'no etcd static pod manifest: this master runs no stacked etcd' >&2; exit 3; fi`,
    sh`if command -v etcdutl >/dev/null 2>&1; then echo tool=etcdutl`,
    sh`elif command -v etcdctl >/dev/null 2>&1; then echo tool=etcdctl`,
    sh`else echo 'neither etcdutl nor etcdctl is on PATH: copy etcdutl from the etcd release the cluster runs into /usr/local/bin' >&2; exit 4; fi`,
  );
}

/**
 * Stops the control plane on a master the way kubeadm's restore page says (no apiserver may write
 * while etcd is replaced): park every control-plane manifest, then wait until kubelet has stopped
 * etcd, i.e. nothing answers on its client port any more. Re-running after an interruption finds the
 * manifests already parked and only waits.
 */
export function stopControlPlaneScript(waitSeconds: number): Script {
  return script(
    'stop the control plane for an etcd restore',
    sh`mkdir -p -m 0700 -- ${RESTORE_PARK}`,
    sh`for p in ${[...STATIC_PODS]}; do if [ -f ${MANIFESTS}/"$p".yaml ]; then mv -f -- ${MANIFESTS}/"$p".yaml ${RESTORE_PARK}/; fi; done`,
    sh`up() { (exec 3<>/dev/tcp/127.0.0.1/2379) 2>/dev/null; }`,
    sh`i=0`,
    sh`while up; do`,
    sh`  if [ "$i" -ge ${waitSeconds} ]; then echo "etcd still answers on 127.0.0.1:2379 after ${waitSeconds} s" >&2; exit 5; fi`,
    sh`  sleep 1; i=$((i+1))`,
    sh`done`,
  );
}

export interface RestoreMember {
  /** The member's name: kubeadm names each member after its node. */
  name: string;
  peerUrl: string;
}

export interface RestoreInput {
  member: RestoreMember;
  /** Every member of the restored cluster, this one included. */
  members: readonly RestoreMember[];
  /** Suffix of the directory the old data is kept in, e.g. a timestamp chosen by the caller. */
  stamp: string;
}

/**
 * Replaces the member's data directory with one restored from the staged snapshot (kubeadm's
 * "Restoring an etcd cluster": `etcdutl snapshot restore` with the member's name, the whole initial
 * cluster and its own peer URL). The data directory is the one the parked manifest names; the old
 * one is kept next to it, never deleted. The restore goes to a fresh directory first, so a failed
 * restore leaves the old data in place.
 */
export function restoreMemberScript(input: RestoreInput): Script {
  const cluster = input.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  return script(
    'restore etcd data from the snapshot',
    sh`data=$(sed -n 's/^ *- --data-dir=//p' ${RESTORE_PARK}/etcd.yaml | head -n 1)`,
    sh`data=\${data:-/var/lib/etcd}`,
    sh`new="$data.kubeon-restore"; old="$data.before-restore-"${input.stamp}`,
    sh`rm -rf -- "$new"`,
    sh`if command -v etcdutl >/dev/null 2>&1; then tool=etcdutl; else tool=etcdctl; fi`,
    sh`ETCDCTL_API=3 "$tool" snapshot restore ${RESTORE_SNAPSHOT} --name ${input.member.name} --initial-cluster ${cluster} --initial-advertise-peer-urls ${input.member.peerUrl} --data-dir "$new"`,
    sh`if [ -e "$data" ] && [ ! -e "$old" ]; then mv -- "$data" "$old"; else rm -rf -- "$data"; fi`,
    sh`mv -- "$new" "$data"`,
    sh`echo "old=$old"`,
  );
}

/** Puts the parked manifests back (kubelet starts etcd and the control plane) and drops the staged snapshot. */
export function startControlPlaneScript(): Script {
  return script(
    'start the control plane after an etcd restore',
    sh`if [ -d ${RESTORE_PARK} ]; then`,
    sh`  for f in ${RESTORE_PARK}/*.yaml; do if [ -f "$f" ]; then mv -f -- "$f" ${MANIFESTS}/; fi; done`,
    sh`  rmdir -- ${RESTORE_PARK}`,
    sh`fi`,
    sh`rm -rf -- ${RESTORE_STAGE}`,
  );
}
