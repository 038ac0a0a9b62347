import { archOf } from '../artifacts/plan.js';
import { raw } from '../fleet/script.js';
import type { HostFacts, OsFamily } from './host.js';

/**
 * Reading a node's facts: one read-only command (no upload, no temporary file, nothing changed) whose
 * output is `key=value` lines, and its parser. `uname -n` is the kernel's hostname, which kubelet
 * uses as the default node name.
 */

// biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell parameter expansions, not JS templates
export const FACTS_COMMAND = raw(
  [
    'echo "hostname=$(uname -n)"',
    'echo "machine=$(uname -m)"',
    'echo "kernel=$(uname -r)"',
    '( . /etc/os-release 2>/dev/null; echo "os_id=${ID:-}"; echo "os_version=${VERSION_ID:-}"; echo "os_like=${ID_LIKE:-}"; echo "os_pretty=${PRETTY_NAME:-}" )',
    'if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=other; fi',
    'for m in apt-get dnf yum; do if command -v $m >/dev/null 2>&1; then echo "pm=$m"; break; fi; done',
    'echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"',
    'echo "mem_kb=$(awk \'/^MemTotal:/ {print $2}\' /proc/meminfo)"',
    'echo "swaps=$(tail -n +2 /proc/swaps 2>/dev/null | wc -l)"',
    'echo "clock_ms=$(date +%s%3N)"',
    'echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"',
    'echo "kubelet=$( (kubelet --version 2>/dev/null || true) | awk \'{print $2}\')"',
    'echo "kubeadm=$( (kubeadm version -o short 2>/dev/null || true) | head -n1)"',
    'echo "containerd=$( (containerd --version 2>/dev/null || true) | awk \'{print $3}\')"',
    'if [ -e /etc/kubernetes/admin.conf ] || [ -e /etc/kubernetes/kubelet.conf ]; then echo etc_kubernetes=1; else echo etc_kubernetes=0; fi',
    'echo "owner=$(cat /etc/kubeon/cluster 2>/dev/null)"',
  ].join('\n'),
);
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell parameter expansions

const RHEL_LIKE = ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'openeuler', 'kylin', 'ol'];
const DEBIAN_LIKE = ['debian', 'ubuntu'];

export function osFamilyOf(id: string, like: string): OsFamily | 'unknown' {
  const words = [id, ...like.split(/\s+/)].map((w) => w.toLowerCase()).filter(Boolean);
  if (words.some((w) => DEBIAN_LIKE.includes(w))) return 'debian';
  if (words.some((w) => RHEL_LIKE.includes(w))) return 'rhel';
  return 'unknown';
}

/** Parses FACTS_COMMAND's output; undefined when the essential lines are missing. */
export function parseFacts(stdout: string): HostFacts | undefined {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const hostname = kv.get('hostname');
  const arch = archOf(kv.get('machine') ?? '');
  if (!hostname || !arch) return undefined;
  const pm = kv.get('pm');
  const opt = (k: string) => {
    const v = kv.get(k);
    return v ? v : undefined;
  };
  const kube: HostFacts['kube'] = { etcKubernetes: kv.get('etc_kubernetes') === '1' };
  const kubelet = opt('kubelet');
  const kubeadm = opt('kubeadm');
  const containerd = opt('containerd');
  const owner = opt('owner');
  if (kubelet) kube.kubeletVersion = kubelet;
  if (kubeadm) kube.kubeadmVersion = kubeadm;
  if (containerd) kube.containerdVersion = containerd;
  if (owner) kube.clusterOwner = owner;
  const id = kv.get('os_id') ?? '';
  return {
    hostname,
    arch,
    os: {
      id,
      versionId: kv.get('os_version') ?? '',
      family: osFamilyOf(id, kv.get('os_like') ?? ''),
      pretty: kv.get('os_pretty') || id || 'unknown',
    },
    kernel: kv.get('kernel') ?? '',
    init: kv.get('init') === 'systemd' ? 'systemd' : 'other',
    packageManager: pm === 'apt-get' ? 'apt' : pm === 'dnf' ? 'dnf' : pm === 'yum' ? 'yum' : 'none',
    cpus: Number(kv.get('cpus') ?? 0) || 0,
    memoryMiB: Math.floor((Number(kv.get('mem_kb') ?? 0) || 0) / 1024),
    swapOn: Number(kv.get('swaps') ?? 0) > 0,
    clockMs: Number(kv.get('clock_ms') ?? 0) || 0,
    machineId: kv.get('machine_id') ?? '',
    kube,
  };
}

const ASSUMED: Record<
  string,
  Pick<HostFacts['os'], 'id' | 'versionId' | 'family' | 'pretty'> & { pm: HostFacts['packageManager'] }
> = {
  'ubuntu-22.04': {
    id: 'ubuntu',
    versionId: '22.04',
    family: 'debian',
    pretty: 'Ubuntu 22.04 LTS',
    pm: 'apt',
  },
  'ubuntu-24.04': {
    id: 'ubuntu',
    versionId: '24.04',
    family: 'debian',
    pretty: 'Ubuntu 24.04 LTS',
    pm: 'apt',
  },
  'debian-12': {
    id: 'debian',
    versionId: '12',
    family: 'debian',
    pretty: 'Debian GNU/Linux 12 (bookworm)',
    pm: 'apt',
  },
  'debian-13': {
    id: 'debian',
    versionId: '13',
    family: 'debian',
    pretty: 'Debian GNU/Linux 13 (trixie)',
    pm: 'apt',
  },
  'rocky-9': { id: 'rocky', versionId: '9', family: 'rhel', pretty: 'Rocky Linux 9', pm: 'dnf' },
  'almalinux-9': { id: 'almalinux', versionId: '9', family: 'rhel', pretty: 'AlmaLinux 9', pm: 'dnf' },
  'rhel-9': { id: 'rhel', versionId: '9', family: 'rhel', pretty: 'Red Hat Enterprise Linux 9', pm: 'dnf' },
};

export const ASSUMABLE_OS = Object.keys(ASSUMED);

/** Facts for `--dry-run --assume-os`: a fresh amd64 machine of that OS, nothing installed. */
export function assumedFacts(os: string, hostname: string): HostFacts | undefined {
  const a = ASSUMED[os];
  if (!a) return undefined;
  return {
    hostname,
    arch: 'amd64',
    os: { id: a.id, versionId: a.versionId, family: a.family, pretty: a.pretty },
    kernel: 'unknown',
    init: 'systemd',
    packageManager: a.pm,
    cpus: 2,
    memoryMiB: 4096,
    swapOn: false,
    clockMs: 0,
    machineId: '',
    kube: { etcKubernetes: false },
  };
}
