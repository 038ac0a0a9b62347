/**
 * kubeadm's preflight checks (cmd/kubeadm/app/preflight/checks.go): each check has the name that
 * --ignore-preflight-errors matches (case-insensitively, or `all`), and errors are printed in
 * kubeadm's format. Checks that are warnings in kubeadm stay warnings.
 */
import { spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirEmpty, inPath, portFree, readText, swapOn, systemctl, unixSocketAlive } from './sys.js';
import { parseVersion, type Version } from './versions.js';

export interface Finding {
  name: string;
  message: string;
  warning?: boolean;
}

export interface PreflightPlan {
  controlPlane: boolean;
  join: boolean;
  localEtcd: boolean;
  etcdDataDir: string;
  criSocket: string;
  nodeName: string;
  apiPort: number;
  kubeadm: Version;
  kubernetesVersion: Version;
}

export async function runChecks(p: PreflightPlan): Promise<Finding[]> {
  const out: Finding[] = [];
  if (process.getuid?.() !== 0)
    out.push({ name: 'IsPrivilegedUser', message: 'user is not running as root' });
  if (p.controlPlane) {
    const cpus = availableParallelism();
    if (cpus < 2)
      out.push({
        name: 'NumCPU',
        message: `the number of available CPUs ${cpus} is less than the required 2`,
      });
    const mb = Math.floor(totalmem() / 1024 / 1024);
    if (mb < 1700)
      out.push({ name: 'Mem', message: `the system RAM (${mb} MB) is less than the minimum 1700 MB` });
  }
  const sock = p.criSocket.replace(/^unix:\/\//, '');
  if (!(await unixSocketAlive(sock))) {
    out.push({
      name: 'CRI',
      message: `container runtime is not running: output: time="${new Date().toISOString()}" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"${p.criSocket}\\": rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix ${sock}: connect: no such file or directory\\""\n, error: exit status 1`,
    });
  }
  const ports: number[] = [];
  const files: string[] = [];
  if (p.controlPlane) {
    ports.push(p.apiPort, 10259, 10257);
    for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
      if (c !== 'etcd' || p.localEtcd) files.push(`/etc/kubernetes/manifests/${c}.yaml`);
    }
  }
  if (p.join) files.push('/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf');
  if (p.join && !p.controlPlane) files.push('/etc/kubernetes/pki/ca.crt');
  for (const f of files) {
    if (existsSync(f))
      out.push({ name: `FileAvailable-${f.replace(/\//g, '-')}`, message: `${f} already exists` });
  }
  out.push(...kernelFindings(readText, swapOn()));
  const exes: [string, boolean][] = [];
  if (p.kubeadm.minor < 31) exes.push(['crictl', true]);
  if (p.kubernetesVersion.minor < 32) exes.push(['conntrack', true]);
  exes.push(
    ['ip', true],
    ['iptables', true],
    ['mount', true],
    ['nsenter', true],
    ['ebtables', false],
    ['ethtool', false],
    ['socat', false],
    ['tc', false],
    ['touch', false],
  );
  for (const [exe, mandatory] of exes) {
    if (!inPath(exe)) {
      out.push({
        name: `FileExisting-${exe}`,
        message: `${exe} not found in system path`,
        warning: !mandatory,
      });
    }
  }
  try {
    await lookup(p.nodeName);
  } catch (e) {
    out.push({ name: 'Hostname', message: `hostname "${p.nodeName}" could not be reached`, warning: true });
    out.push({
      name: 'Hostname',
      message: `hostname "${p.nodeName}": lookup ${p.nodeName}: ${(e as Error).message}`,
      warning: true,
    });
  }
  out.push(...kubeletVersion(p));
  const svc = systemctl('is-enabled', 'kubelet.service');
  if (!svc.available || !svc.ok) {
    out.push({
      name: 'Service-Kubelet',
      message: "kubelet service is not enabled, please run 'systemctl enable kubelet.service'",
      warning: true,
    });
  }
  const portChecks = [...ports, 10250];
  if (p.controlPlane && p.localEtcd) portChecks.push(2379, 2380);
  for (const port of portChecks) {
    if (!(await portFree(port))) out.push({ name: `Port-${port}`, message: `Port ${port} is in use` });
  }
  if (p.controlPlane && p.localEtcd && !dirEmpty(p.etcdDataDir)) {
    out.push({
      name: `DirAvailable-${p.etcdDataDir.replace(/\//g, '-')}`,
      message: `${p.etcdDataDir} is not empty`,
    });
  }
  return out;
}

/**
 * The kernel checks: ip_forward must be 1. The bridge-nf-call-iptables check was removed in 1.30
 * (kubernetes/kubernetes#123464), and swap is only a warning since 1.28, when the kubelet learned to
 * use it (preflight/checks.go SwapCheck returns warnings).
 */
export function kernelFindings(read: (path: string) => string | undefined, swap: boolean): Finding[] {
  const out: Finding[] = [];
  const path = '/proc/sys/net/ipv4/ip_forward';
  const label = 'FileContent--proc-sys-net-ipv4-ip_forward';
  const v = read(path);
  if (v === undefined) out.push({ name: label, message: `${path} does not exist` });
  else if (v.trim() !== '1') out.push({ name: label, message: `${path} contents are not set to 1` });
  if (swap)
    out.push({
      name: 'Swap',
      message:
        'swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node',
      warning: true,
    });
  return out;
}

function kubeletVersion(p: PreflightPlan): Finding[] {
  const exe = inPath('kubelet');
  if (!exe)
    return [
      {
        name: 'KubeletVersion',
        message:
          "couldn't get kubelet version: cannot execute 'kubelet --version': executable file not found in $PATH",
      },
    ];
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const v = parseVersion((r.stdout ?? '').replace(/^Kubernetes\s+/, '').trim());
  if (!v)
    return [
      {
        name: 'KubeletVersion',
        message: `couldn't get kubelet version: ${(r.stderr ?? '').trim() || 'unparsable output'}`,
      },
    ];
  const cp = p.kubernetesVersion;
  if (v.major !== cp.major || v.minor > cp.minor) {
    return [
      {
        name: 'KubeletVersion',
        message: `the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: "${v.text}" Control plane version: "${cp.text}"`,
      },
    ];
  }
  if (v.minor < p.kubeadm.minor - 3) {
    return [
      {
        name: 'KubeletVersion',
        message: `Kubelet version "${v.text}" is lower than kubeadm can support. Please upgrade kubelet`,
      },
    ];
  }
  return [];
}

/** Splits findings into printed warnings and fatal errors, honouring --ignore-preflight-errors. */
export function judge(findings: Finding[], ignore: string[]): { warnings: string[]; errors: string[] } {
  const ig = new Set(ignore.map((s) => s.toLowerCase()));
  const all = ig.has('all');
  const warnings: string[] = [];
  const errors: string[] = [];
  for (const f of findings) {
    if (f.warning || all || ig.has(f.name.toLowerCase()))
      warnings.push(`\t[WARNING ${f.name}]: ${f.message}`);
    else errors.push(`\t[ERROR ${f.name}]: ${f.message}`);
  }
  return { warnings, errors };
}
