import type { OsFamily } from '../cluster/host.js';
import { raw, type Script, type ShellFragment, sh } from '../fleet/script.js';
import { guardedStep, NODE_STATE_DIR, type NodeFile, putFiles, WARN } from './files.js';
import type { RenderInput } from './inputs.js';

/**
 * OS preparation: what kubeadm's preflight and a working pod network need from the node, in files
 * kubeon owns (so destroy can take exactly them away) and applied now as well as at boot.
 */

export const MODULES_FILE = '/etc/modules-load.d/kubeon.conf';
export const SYSCTL_FILE = '/etc/sysctl.d/90-kubeon.conf';
export const LIMITS_FILE = '/etc/security/limits.d/90-kubeon.conf';
export const CLUSTER_FILE = `${NODE_STATE_DIR}/cluster`;
/** What OS preparation changed outside kubeon's own files, so destroy can put it back. */
export const RESTORE_DIR = `${NODE_STATE_DIR}/restore`;
/** Prefix of the fstab swap lines kubeon commented out. */
export const FSTAB_MARK = '#kubeon-swap# ';

/**
 * Directories Kubernetes, containerd and the CNI plugins write. OS preparation notes which of them
 * the node had before kubeon (an OS package's empty /var/lib/etcd, say), so destroy empties those
 * and removes only the ones kubeon's run created.
 */
export const STATE_DIRS = [
  '/etc/kubernetes',
  '/var/lib/kubelet',
  '/var/lib/etcd',
  '/var/lib/containerd',
  '/run/containerd',
  '/etc/containerd',
  '/etc/cni',
  '/opt/cni',
  '/var/lib/cni',
  '/var/lib/calico',
  '/run/calico',
  '/var/run/cilium',
  '/var/log/pods',
  '/var/log/containers',
];
export const PREEXISTING_FILE = `${RESTORE_DIR}/preexisting`;

const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'];

export function kernelModules(input: Pick<RenderInput, 'spec'>): string[] {
  return ['overlay', 'br_netfilter', ...(input.spec.network.proxyMode === 'ipvs' ? IPVS_MODULES : [])];
}

/** Keys a node cannot do without; the others (global fs.* in a container, say) may fail with a warning. */
const REQUIRED_SYSCTLS = ['net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables'];

const SYSCTLS: [string, string][] = [
  ['net.bridge.bridge-nf-call-iptables', '1'],
  ['net.bridge.bridge-nf-call-ip6tables', '1'],
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv6.conf.all.forwarding', '1'],
  // kubelet and many pods watch files; distribution defaults run out on a busy node.
  ['fs.inotify.max_user_watches', '524288'],
  ['fs.inotify.max_user_instances', '8192'],
];

/** Command to check for, and the package that brings it, per family. */
function packages(family: OsFamily, ipvs: boolean): [string, string][] {
  const rhel = family === 'rhel';
  return [
    ['conntrack', rhel ? 'conntrack-tools' : 'conntrack'],
    ['socat', 'socat'],
    ['ipset', 'ipset'],
    ['ebtables', 'ebtables'],
    ['ethtool', 'ethtool'],
    ['iptables', 'iptables'],
    ...(ipvs ? ([['ipvsadm', 'ipvsadm']] as [string, string][]) : []),
  ];
}

function header(name: string): string {
  return `# Written by kubeon for cluster ${name}; kubeon destroy removes this file.\n`;
}

export function osFiles(input: RenderInput): NodeFile[] {
  const name = input.spec.name;
  return [
    { path: CLUSTER_FILE, mode: 0o644, content: `${name}\n` },
    { path: MODULES_FILE, mode: 0o644, content: `${header(name)}${kernelModules(input).join('\n')}\n` },
    {
      path: SYSCTL_FILE,
      mode: 0o644,
      content: `${header(name)}${SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`,
    },
    {
      path: LIMITS_FILE,
      mode: 0o644,
      // `*` does not cover root in pam_limits, so root has its own lines.
      content: `${header(name)}${['*', 'root']
        .flatMap((who) => ['soft', 'hard'].map((kind) => `${who} ${kind} nofile 1048576`))
        .join('\n')}\n`,
    },
  ];
}

function installCommand(family: OsFamily): ShellFragment {
  // One attempt per source: a host without a reachable mirror gives up in seconds, not minutes.
  if (family === 'rhel') {
    return raw(
      'pm=dnf; command -v dnf >/dev/null 2>&1 || pm=yum; install_pkgs() { timeout 300 "$pm" install -y --setopt=retries=1 "$@"; }',
    );
  }
  return raw(
    'install_pkgs() { DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends "$@" || { timeout 120 apt-get update -q -o Acquire::Retries=0 && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends "$@"; }; }',
  );
}

function hostnameLines(name: string): ShellFragment[] {
  return [
    sh`want_name=${name}`,
    raw('if [ "$(uname -n)" != "$want_name" ]; then'),
    // Without systemd-hostnamed: the kernel's name now, /etc/hostname for the next boot.
    raw(
      '  hostnamectl set-hostname "$want_name" 2>/dev/null || { printf \'%s\' "$want_name" > /proc/sys/kernel/hostname; printf \'%s\\n\' "$want_name" > /etc/hostname; }',
    ),
    raw('fi'),
  ];
}

const SWAP_LINES: ShellFragment[] = [
  raw('swapoff -a'),
  // Comment out swap entries so swap stays off at boot; destroy removes the mark again.
  sh`mark=${FSTAB_MARK}`,
  raw(
    "if [ -f /etc/fstab ] && grep -Eq '^[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]]|$)' /etc/fstab; then",
  ),
  raw(
    '  sed -i -E "s@^([^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]].*)?)\\$@$mark\\1@" /etc/fstab',
  ),
  raw('fi'),
];

function moduleLines(modules: readonly string[]): ShellFragment[] {
  return [
    // Built-in modules have no file to load: /sys/module shows most, br_netfilter shows as
    // /proc/sys/net/bridge and overlay in /proc/filesystems.
    raw('loaded() {'),
    raw('  [ -d "/sys/module/$1" ] && return 0'),
    raw('  [ "$1" = br_netfilter ] && [ -d /proc/sys/net/bridge ] && return 0'),
    raw('  [ "$1" = overlay ] && grep -qw overlay /proc/filesystems && return 0'),
    raw('  return 1'),
    raw('}'),
    sh`for m in ${modules}; do`,
    raw(
      '  loaded "$m" || modprobe -- "$m" || { echo "kernel module $m is missing and cannot be loaded" >&2; exit 1; }',
    ),
    raw('done'),
  ];
}

function sysctlLines(): ShellFragment[] {
  return [
    sh`sysctl -p ${SYSCTL_FILE} >/dev/null 2>"$work/sysctl.err" || warn "some settings of ${raw(SYSCTL_FILE)} did not apply: $(tr '\n' ' ' < "$work/sysctl.err")"`,
    sh`for k in ${REQUIRED_SYSCTLS}; do`,
    raw(
      '  [ "$(sysctl -n "$k" 2>/dev/null)" = 1 ] || { echo "sysctl $k is not 1 after applying the settings" >&2; exit 1; }',
    ),
    raw('done'),
  ];
}

function packageLines(family: OsFamily, ipvs: boolean): ShellFragment[] {
  const pairs = packages(family, ipvs);
  return [
    installCommand(family),
    raw('missing=""'),
    ...pairs.map(([cmd, pkg]) => sh`command -v ${cmd} >/dev/null 2>&1 || missing="$missing ${raw(pkg)}"`),
    // The packages are recommended, not required: a host without a package mirror still installs.
    raw('if [ -n "$missing" ]; then'),
    raw('  # shellcheck disable=SC2086'),
    raw(
      '  install_pkgs $missing >"$work/pkg.log" 2>&1 || warn "packages not installed:$missing ($(tail -n 1 "$work/pkg.log"))"',
    ),
    raw('fi'),
  ];
}

/** Written once, at the first run, before anything of kubeon's exists. */
const PREEXISTING_LINES: ShellFragment[] = [
  sh`restore=${RESTORE_DIR}`,
  raw('mkdir -p -- "$restore"'),
  sh`if [ ! -e ${PREEXISTING_FILE} ]; then`,
  sh`  for d in ${STATE_DIRS}; do if [ -e "$d" ]; then echo "$d"; fi; done > ${PREEXISTING_FILE}`,
  raw('fi'),
];

/** Firewalls are turned off, not opened port by port: pod and service traffic use arbitrary ports. */
const FIREWALL_LINES: ShellFragment[] = [
  raw('if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet firewalld 2>/dev/null; then'),
  raw('  systemctl disable --now firewalld && touch "$restore/firewalld"'),
  raw('fi'),
  raw('if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q "Status: active"; then'),
  raw('  ufw disable && touch "$restore/ufw"'),
  raw('fi'),
];

const SELINUX_LINES: ShellFragment[] = [
  raw('if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then'),
  raw('  setenforce 0 && touch "$restore/selinux-enforcing"'),
  raw('fi'),
  raw('if [ -f /etc/selinux/config ] && grep -q "^SELINUX=enforcing" /etc/selinux/config; then'),
  raw(
    '  sed -i "s/^SELINUX=enforcing/SELINUX=permissive/" /etc/selinux/config && touch "$restore/selinux-config"',
  ),
  raw('fi'),
];

const TIME_LINES: ShellFragment[] = [
  // Certificates and tokens need clocks within seconds of each other.
  raw('if command -v timedatectl >/dev/null 2>&1; then'),
  raw(
    '  timedatectl set-ntp true 2>/dev/null || warn "could not enable time synchronisation (timedatectl set-ntp true)"',
  ),
  raw('else'),
  raw('  warn "no timedatectl: make sure the clock is synchronised"'),
  raw('fi'),
];

export function osPrepareScript(input: RenderInput): Script {
  const family = osFamily(input);
  const ipvs = input.spec.network.proxyMode === 'ipvs';
  const body = [
    WARN,
    raw('work=$(mktemp -d)'),
    raw('trap \'rm -rf -- "$work"\' EXIT'),
    ...PREEXISTING_LINES,
    // The owner file comes before any change, so destroy can tell a node kubeon has touched.
    ...putFiles(osFiles(input)),
    ...hostnameLines(input.host.node.name),
    ...SWAP_LINES,
    ...moduleLines(kernelModules(input)),
    ...sysctlLines(),
    ...packageLines(family, ipvs),
    ...FIREWALL_LINES,
    ...(family === 'rhel' ? SELINUX_LINES : []),
    ...TIME_LINES,
  ];
  return guardedStep(
    'os',
    'prepare the operating system',
    body,
    raw('[ "$(wc -l < /proc/swaps)" -le 1 ] && [ "$(sysctl -n net.ipv4.ip_forward 2>/dev/null)" = 1 ]'),
  );
}

/** The family the scripts are written for; gathering facts refuses other systems before this. */
export function osFamily(input: Pick<RenderInput, 'host'>): OsFamily {
  const f = input.host.facts.os.family;
  if (f === 'unknown')
    throw new Error(`no OS family for ${input.host.node.name}: preflight should have refused it`);
  return f;
}
