/**
 * Puts the stand-ins on a lab host the way an installer would: binaries in /usr/bin and
 * /usr/local/bin, the kubelet and containerd systemd units (as the upstream packages ship them), a
 * containerd config, the sysctls kubeadm checks. Tests and `lab standins install` use it; kubeon's
 * own end-to-end runs install everything themselves from the mirror.
 */
import { readFileSync } from 'node:fs';
import { standinExecutable } from './index.js';
import { ociArchive } from './lib/image-archive.js';
import { clusterImages } from './lib/images.js';
import { factsFor, parseVersion } from './lib/versions.js';

export interface InstallOptions {
  kubernetes: string;
  containerd: string;
  /** Extra /etc/hosts lines, e.g. the control-plane endpoint. */
  hosts?: string[];
  systemdCgroup?: boolean;
  /**
   * Images imported with `ctr -n <imageNamespace> images import`, as an installer does: by
   * default every image kubeadm lists for the version. The kubelet and kubeadm stand-ins only
   * see the exact references in the k8s.io namespace.
   */
  images?: string[];
  imageNamespace?: string;
  /** containerd's sandbox (pause) image; kubeadm's pause for the minor by default. */
  sandboxImage?: string;
}

/** The images an installer puts on a node for `kubernetes`: kubeadm's list, sandbox image included. */
export function defaultImages(kubernetes: string): string[] {
  const v = parseVersion(kubernetes);
  if (!v) throw new Error(`not a Kubernetes version: ${kubernetes}`);
  return clusterImages({}, v, v.minor);
}

export const KUBELET_UNIT = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

export const KUBEADM_DROPIN = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

export const CONTAINERD_UNIT = `[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`;

/** Runs a command inside one host (lab/api.ts hostExec, bound to a lab and host). */
export type HostExec = (
  argv: string[],
  opts?: { input?: string },
) => Promise<{ code: number; stdout: string; stderr: string }>;

export async function must(exec: HostExec, argv: string[], input?: string): Promise<string> {
  const r = await exec(argv, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function put(exec: HostExec, path: string, content: string, mode: string): Promise<void> {
  await must(
    exec,
    ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', 'put', path, mode],
    content,
  );
}

export async function installStandins(exec: HostExec, o: InstallOptions): Promise<void> {
  const bins: [string, string, string][] = [
    ['kubeadm', o.kubernetes, '/usr/bin/kubeadm'],
    ['kubelet', o.kubernetes, '/usr/bin/kubelet'],
    ['kubectl', o.kubernetes, '/usr/bin/kubectl'],
    ['containerd', o.containerd, '/usr/local/bin/containerd'],
    ['ctr', o.containerd, '/usr/local/bin/ctr'],
    ['crictl', 'v1.31.1', '/usr/local/bin/crictl'],
    ['runc', 'v1.2.5', '/usr/local/sbin/runc'],
  ];
  for (const [component, version, path] of bins) {
    await put(exec, path, readFileSync(await standinExecutable(component, version, 'amd64'), 'utf8'), '0755');
  }
  const major = Number(o.containerd.replace(/^v/, '').split('.')[0]);
  const systemd = o.systemdCgroup ?? true;
  const v = parseVersion(o.kubernetes);
  const sandbox = o.sandboxImage ?? `registry.k8s.io/pause:${factsFor(v?.minor ?? 31).pause}`;
  const config =
    major >= 2
      ? `version = 3\n[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = "${sandbox}"\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = ${systemd}\n`
      : `version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "${sandbox}"\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = ${systemd}\n`;
  await put(exec, '/etc/containerd/config.toml', config, '0644');
  await put(exec, '/etc/systemd/system/containerd.service', CONTAINERD_UNIT, '0644');
  await put(exec, '/etc/systemd/system/kubelet.service', KUBELET_UNIT, '0644');
  await put(exec, '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', KUBEADM_DROPIN, '0644');
  await put(
    exec,
    '/etc/sysctl.d/99-kubernetes.conf',
    'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n',
    '0644',
  );
  await must(exec, ['sysctl', '-p', '/etc/sysctl.d/99-kubernetes.conf']);
  if (o.hosts?.length) {
    await must(exec, ['sh', '-c', 'cat >> /etc/hosts'], `${o.hosts.join('\n')}\n`);
  }
  await must(exec, ['systemctl', 'daemon-reload']);
  await must(exec, ['systemctl', 'enable', '--now', 'containerd']);
  await importImages(exec, o.images ?? defaultImages(o.kubernetes), o.imageNamespace ?? 'k8s.io');
  await must(exec, ['systemctl', 'enable', '--now', 'kubelet']);
}

/** Puts an archive of these images on the host and imports it with ctr, as an installer does. */
export async function importImages(exec: HostExec, images: string[], namespace = 'k8s.io'): Promise<void> {
  if (!images.length) return;
  // the archive is plain ASCII (ustar headers and JSON), so it survives the text channel
  await put(exec, '/root/standin-images.tar', ociArchive(images).toString('latin1'), '0600');
  await must(exec, ['ctr', '-n', namespace, 'images', 'import', '/root/standin-images.tar']);
  await must(exec, ['rm', '-f', '/root/standin-images.tar']);
}
