import { raw, type Script, sh } from '../fleet/script.js';
import { guardedStep, type NodeFile, putFiles } from './files.js';
import type { RenderInput } from './inputs.js';

/**
 * The container runtime from the verified bundle: containerd, runc, the CNI plugins and crictl, with
 * kubeon's containerd config (systemd cgroups to match the kubelet, kubeadm's pause image as the
 * sandbox, registry mirrors through certs.d) and the upstream systemd unit.
 */

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_UNIT_PATH = '/etc/systemd/system/containerd.service';
export const CERTS_DIR = '/etc/containerd/certs.d';
export const CRICTL_CONFIG = '/etc/crictl.yaml';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';

/** Binaries the runtime step installs, for destroy. */
export const RUNTIME_BINARIES = [
  '/usr/local/bin/containerd',
  '/usr/local/bin/containerd-shim',
  '/usr/local/bin/containerd-shim-runc-v1',
  '/usr/local/bin/containerd-shim-runc-v2',
  '/usr/local/bin/containerd-stress',
  '/usr/local/bin/ctr',
  '/usr/local/bin/crictl',
  '/usr/local/sbin/runc',
];

/** A TOML basic string: JSON's escapes are all valid TOML escapes. */
function tomlString(s: string): string {
  return JSON.stringify(s);
}

function containerdMajor(input: RenderInput): number {
  return Number(input.components.versions.containerd.split('.')[0]);
}

/**
 * config.toml in the schema the installed containerd reads natively: version 2 for 1.x, version 3
 * (plugin IDs io.containerd.cri.v1.*) for 2.x, so containerd 2 never migrates it in memory.
 * Only what differs from containerd's defaults is written.
 */
export function containerdConfig(input: RenderInput): string {
  const sandbox = tomlString(input.components.images.sandboxImage);
  const certs = tomlString(CERTS_DIR);
  const head = (version: number) => `# Written by kubeon for cluster ${input.spec.name}.
version = ${version}
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"
`;
  if (containerdMajor(input) >= 2) {
    const images = 'plugins."io.containerd.cri.v1.images"';
    const runtime = 'plugins."io.containerd.cri.v1.runtime"';
    return `${head(3)}
[${images}.pinned_images]
  sandbox = ${sandbox}

[${images}.registry]
  config_path = ${certs}

[${runtime}.containerd]
  default_runtime_name = "runc"

[${runtime}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${runtime}.containerd.runtimes.runc.options]
  SystemdCgroup = true
`;
  }
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `${head(2)}
[${cri}]
  sandbox_image = ${sandbox}

[${cri}.containerd]
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = true

[${cri}.registry]
  config_path = ${certs}
`;
}

const UPSTREAM_SERVER: Record<string, string> = { 'docker.io': 'https://registry-1.docker.io' };

/** certs.d/<registry>/hosts.toml: the mirrors first, the registry itself as the fallback. */
export function registryHostsFiles(input: RenderInput): NodeFile[] {
  return Object.entries(input.components.images.registryMirrors)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([registry, endpoints]) => ({
      path: `${CERTS_DIR}/${registry}/hosts.toml`,
      mode: 0o644,
      content: `server = ${tomlString(UPSTREAM_SERVER[registry] ?? `https://${registry}`)}\n${endpoints
        .map((e) => `\n[host.${tomlString(e)}]\n  capabilities = ["pull", "resolve"]\n`)
        .join('')}`,
    }));
}

/** containerd's own containerd.service, binaries under /usr/local as the release tarball lays them out. */
export const CONTAINERD_UNIT = `[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

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

export const CRICTL_YAML = `runtime-endpoint: ${CRI_SOCKET}
image-endpoint: ${CRI_SOCKET}
timeout: 10
`;

export function runtimeFiles(input: RenderInput): NodeFile[] {
  return [
    { path: CONTAINERD_CONFIG, mode: 0o644, content: containerdConfig(input) },
    ...registryHostsFiles(input),
    { path: CONTAINERD_UNIT_PATH, mode: 0o644, content: CONTAINERD_UNIT },
    { path: CRICTL_CONFIG, mode: 0o644, content: CRICTL_YAML },
  ];
}

/** Bundle file names, as src/artifacts/plan.ts names them. */
export function runtimeBundleNames(input: RenderInput): {
  containerd: string;
  runc: string;
  crictl: string;
  cni: string;
} {
  const v = input.components.versions;
  const arch = input.host.facts.arch;
  return {
    containerd: `containerd-${v.containerd}-linux-${arch}.tar.gz`,
    runc: `runc.${arch}`,
    crictl: `crictl-${v.crictl}-linux-${arch}.tar.gz`,
    cni: `cni-plugins-linux-${arch}-${v.cni}.tgz`,
  };
}

export function runtimeInstallScript(input: RenderInput): Script {
  const names = runtimeBundleNames(input);
  const body = [
    sh`b=${input.components.bundleDir}`,
    sh`for f in ${Object.values(names)}; do [ -f "$b/$f" ] || { echo "$b/$f is missing: the artifact bundle did not arrive" >&2; exit 1; }; done`,
    // A new binary with an unchanged config needs the restart too; absent binaries hash as empty.
    raw('old=$({ cat /usr/local/bin/containerd /usr/local/sbin/runc 2>/dev/null || true; } | sha256sum)'),
    sh`tar -C /usr/local -xzf "$b"/${names.containerd} --no-same-owner`,
    sh`install -D -m 0755 "$b"/${names.runc} /usr/local/sbin/runc`,
    raw('mkdir -p /opt/cni/bin'),
    sh`tar -C /opt/cni/bin -xzf "$b"/${names.cni} --no-same-owner`,
    sh`tar -C /usr/local/bin -xzf "$b"/${names.crictl} --no-same-owner crictl`,
    ...putFiles(runtimeFiles(input), { track: true }),
    raw('[ "$old" = "$(cat /usr/local/bin/containerd /usr/local/sbin/runc | sha256sum)" ] || changed=1'),
    raw('systemctl daemon-reload'),
    raw('systemctl enable containerd'),
    // A new config or binary only takes effect on restart; an unchanged running containerd is left alone.
    raw(
      'if [ "$changed" = 1 ] || ! systemctl is-active --quiet containerd; then systemctl restart containerd; fi',
    ),
    raw('for _ in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && break; sleep 1; done'),
    raw(
      '[ -S /run/containerd/containerd.sock ] || { echo "containerd did not open its socket within 30 s" >&2; exit 1; }',
    ),
  ];
  return guardedStep(
    'runtime',
    'install the container runtime',
    body,
    raw('systemctl is-active --quiet containerd'),
  );
}
