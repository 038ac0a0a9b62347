/**
 * containerd's config.toml by schema version: containerd 1.7 reads version 2 (and the deprecated
 * version 1), containerd 2.x reads version 3 and migrates 2 in memory. Plugin sections are keyed
 * by plugin ID, which changed between the versions; the stand-in refuses IDs the version does not
 * have and unknown keys in the sections kubeadm clusters depend on (runc options, sandbox image),
 * because real containerd ignores them silently and that is how a wrong cgroup driver ships.
 */
import { parseToml, type TomlTable } from './toml.js';

export interface RuntimeSettings {
  configVersion: number;
  systemdCgroup: boolean;
  sandboxImage: string;
  grpcAddress: string;
  root: string;
  state: string;
  /** registry.config_path: the directory of <host>/hosts.toml files ("" for none). */
  registryConfigPath: string;
  /** registry.configs."<host>".auth, by the host being contacted. */
  registryAuth: Record<string, { username?: string; password?: string; auth?: string }>;
  warnings: string[];
}

function registrySettings(
  registry: TomlTable | undefined,
): Pick<RuntimeSettings, 'registryConfigPath' | 'registryAuth'> {
  const registryAuth: RuntimeSettings['registryAuth'] = {};
  for (const [host, c] of Object.entries(table(registry?.configs) ?? {})) {
    const auth = table(table(c)?.auth);
    if (auth)
      registryAuth[host] = Object.fromEntries(
        Object.entries(auth)
          .filter(([k]) => k === 'username' || k === 'password' || k === 'auth')
          .map(([k, v]) => [k, String(v)]),
      );
  }
  return { registryConfigPath: String(registry?.config_path ?? ''), registryAuth };
}

const V2_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.gc.v1.scheduler',
  'io.containerd.internal.v1.opt',
  'io.containerd.internal.v1.restart',
  'io.containerd.internal.v1.tracing',
  'io.containerd.metadata.v1.bolt',
  'io.containerd.monitor.v1.cgroups',
  'io.containerd.nri.v1.nri',
  'io.containerd.runtime.v1.linux',
  'io.containerd.runtime.v2.task',
  'io.containerd.service.v1.diff-service',
  'io.containerd.service.v1.tasks-service',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.native',
  'io.containerd.snapshotter.v1.overlayfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.transfer.v1.local',
];

const V3_PLUGINS = [
  'io.containerd.cri.v1.images',
  'io.containerd.cri.v1.runtime',
  'io.containerd.grpc.v1.cri',
  'io.containerd.gc.v1.scheduler',
  'io.containerd.internal.v1.opt',
  'io.containerd.internal.v1.tracing',
  'io.containerd.metadata.v1.bolt',
  'io.containerd.monitor.container.v1.restart',
  'io.containerd.monitor.task.v1.cgroups',
  'io.containerd.nri.v1.nri',
  'io.containerd.runtime.v2.task',
  'io.containerd.service.v1.diff-service',
  'io.containerd.service.v1.tasks-service',
  'io.containerd.shim.v1.manager',
  'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.erofs',
  'io.containerd.snapshotter.v1.native',
  'io.containerd.snapshotter.v1.overlayfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.differ.v1.erofs',
  'io.containerd.sandbox.controller.v1.shim',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.transfer.v1.local',
];

const TOP = [
  'version',
  'root',
  'state',
  'temp',
  'plugin_dir',
  'disabled_plugins',
  'required_plugins',
  'oom_score',
  'imports',
  'grpc',
  'ttrpc',
  'debug',
  'metrics',
  'cgroup',
  'plugins',
  'timeouts',
  'stream_processors',
  'proxy_plugins',
];

const RUNC_OPTIONS = [
  'BinaryName',
  'CriuImagePath',
  'CriuPath',
  'CriuWorkPath',
  'IoGid',
  'IoUid',
  'NoNewKeyring',
  'NoPivotRoot',
  'Root',
  'ShimCgroup',
  'SystemdCgroup',
];

export class ContainerdConfigError extends Error {}

function table(v: unknown): TomlTable | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as TomlTable) : undefined;
}

function checkRuntimes(runtimes: TomlTable | undefined, prefix: string): boolean | undefined {
  let systemd: boolean | undefined;
  for (const [name, rt] of Object.entries(runtimes ?? {})) {
    const opts = table(table(rt)?.options);
    for (const k of Object.keys(opts ?? {})) {
      if (!RUNC_OPTIONS.includes(k))
        throw new ContainerdConfigError(
          `${prefix}.runtimes.${name}.options: unknown option "${k}" (the runc shim's options are ${RUNC_OPTIONS.join(', ')})`,
        );
    }
    if (name === 'runc' && typeof opts?.SystemdCgroup === 'boolean') systemd = opts.SystemdCgroup;
  }
  return systemd;
}

export function parseContainerdConfig(text: string, containerdMajor: number): RuntimeSettings {
  let doc: TomlTable;
  try {
    doc = parseToml(text);
  } catch (e) {
    throw new ContainerdConfigError(`failed to load TOML: ${(e as Error).message}`);
  }
  const version = typeof doc.version === 'number' ? doc.version : 1;
  const warnings: string[] = [];
  if (containerdMajor < 2) {
    if (version > 2) throw new ContainerdConfigError(`unsupported config version \`${version}\``);
    if (version === 1) warnings.push('Configuration version 1 is deprecated; use version 2');
  } else {
    if (version > 3) throw new ContainerdConfigError(`unsupported config version \`${version}\``);
    if (version < 3)
      warnings.push(
        `Configuration migrated from version ${version}, use \`containerd config migrate\` to avoid migration`,
      );
  }
  for (const k of Object.keys(doc)) {
    if (!TOP.includes(k))
      throw new ContainerdConfigError(`unknown top-level key "${k}" in config version ${version}`);
  }
  const plugins = table(doc.plugins) ?? {};
  const known = version >= 3 ? V3_PLUGINS : V2_PLUGINS;
  for (const id of Object.keys(plugins)) {
    if (!known.includes(id)) {
      throw new ContainerdConfigError(
        `plugin "${id}" is not a plugin of config version ${version}${version >= 3 ? '' : ' (is this a version 3 plugin ID?)'}`,
      );
    }
  }
  let systemdCgroup = false;
  let sandboxImage = '';
  let registry: TomlTable | undefined;
  if (version >= 3) {
    const rt = table(plugins['io.containerd.cri.v1.runtime']);
    systemdCgroup =
      checkRuntimes(
        table(table(rt?.containerd)?.runtimes),
        'plugins."io.containerd.cri.v1.runtime".containerd',
      ) ?? false;
    sandboxImage = String(
      table(table(plugins['io.containerd.cri.v1.images'])?.pinned_images)?.sandbox ??
        'registry.k8s.io/pause:3.10',
    );
    registry = table(table(plugins['io.containerd.cri.v1.images'])?.registry);
    const cri = table(plugins['io.containerd.grpc.v1.cri']);
    if (cri && ('containerd' in cri || 'sandbox_image' in cri)) {
      throw new ContainerdConfigError(
        'plugins."io.containerd.grpc.v1.cri": "containerd" and "sandbox_image" moved to io.containerd.cri.v1.runtime / io.containerd.cri.v1.images in config version 3',
      );
    }
  } else {
    const cri = table(plugins['io.containerd.grpc.v1.cri']);
    systemdCgroup =
      checkRuntimes(
        table(table(cri?.containerd)?.runtimes),
        'plugins."io.containerd.grpc.v1.cri".containerd',
      ) ?? false;
    sandboxImage = String(
      cri?.sandbox_image ??
        (containerdMajor < 2 ? 'registry.k8s.io/pause:3.8' : 'registry.k8s.io/pause:3.10'),
    );
    registry = table(cri?.registry);
    if (table(cri?.containerd)?.systemd_cgroup === true) {
      throw new ContainerdConfigError(
        'plugins."io.containerd.grpc.v1.cri".containerd.systemd_cgroup is only for the removed io.containerd.runtime.v1.linux runtime; set runtimes.runc.options.SystemdCgroup',
      );
    }
  }
  const grpc = table(doc.grpc);
  return {
    configVersion: version,
    systemdCgroup,
    sandboxImage,
    grpcAddress: String(grpc?.address ?? '/run/containerd/containerd.sock'),
    root: String(doc.root ?? '/var/lib/containerd'),
    state: String(doc.state ?? '/run/containerd'),
    ...registrySettings(registry),
    warnings,
  };
}

/** `containerd config default`, written for the stand-in (the sections kubeadm installs touch). */
export function defaultConfig(containerdMajor: number): string {
  if (containerdMajor >= 2) {
    return `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
temp = ""
disabled_plugins = []
required_plugins = []
oom_score = 0
imports = []

[grpc]
  address = "/run/containerd/containerd.sock"
  uid = 0
  gid = 0

[plugins]
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "registry.k8s.io/pause:3.10"
    [plugins."io.containerd.cri.v1.images".registry]
      config_path = ""

  [plugins."io.containerd.cri.v1.runtime"]
    enable_selinux = false
    [plugins."io.containerd.cri.v1.runtime".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes]
        [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
            BinaryName = ""
            SystemdCgroup = false
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = ["/opt/cni/bin"]
      conf_dir = "/etc/cni/net.d"

  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
`;
  }
  return `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = []
required_plugins = []
oom_score = 0

[grpc]
  address = "/run/containerd/containerd.sock"
  uid = 0
  gid = 0

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.8"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = ""
            SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""
`;
}
