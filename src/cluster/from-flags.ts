import { badInput } from '../core/errors.js';
import { plural } from '../core/suggest.js';
import { expandAddresses } from './ip-list.js';
import type { ClusterSpecInput, NodeSpec, SshAuth } from './spec.js';
import { CNIS, CRIS, KEY_ALGORITHMS, LB_MODES, PROXY_MODES } from './spec-names.js';

/** The environment variable `--ask-pass` fills for the run; the spec stores only the reference. */
export const ASKED_PASSWORD_VAR = 'KUBEON_PASSWORD';

/**
 * Command-line flags (compatible with the original kubeon) layered over an optional cluster.yaml.
 * Flags win over the file. Repeatable per-node flags are parallel lists: the i-th value belongs to
 * the i-th -m/-w address.
 */
export interface NodeFlags {
  master?: string[];
  worker?: string[];
  masterName?: string[];
  workerName?: string[];
  masterPort?: string[];
  workerPort?: string[];
  masterUser?: string[];
  workerUser?: string[];
  masterPasswd?: string[];
  workerPasswd?: string[];
  masterPkFile?: string[];
  workerPkFile?: string[];
  masterPkPassword?: string[];
  workerPkPassword?: string[];
  masterLabels?: string[];
  workerLabels?: string[];
  defaultUser?: string;
  defaultPort?: string;
  defaultPasswd?: string;
  defaultPkFile?: string;
  defaultPkPassword?: string;
  defaultMasterUser?: string;
  defaultMasterPort?: string;
  defaultMasterPasswd?: string;
  defaultMasterPkFile?: string;
  defaultMasterPkPassword?: string;
  defaultWorkerUser?: string;
  defaultWorkerPort?: string;
  defaultWorkerPasswd?: string;
  defaultWorkerPkFile?: string;
  defaultWorkerPkPassword?: string;
  bastion?: string;
  bastionPasswd?: string;
  bastionPkFile?: string;
  /** --ask-pass: the password is asked, never stored; the spec says passwordFrom env:KUBEON_PASSWORD. */
  askPass?: boolean;
}

/** A cluster-wide flag of create and the cluster.yaml field it sets: one table for help, errors and parsing. */
export interface ClusterFlagDef {
  key: keyof ClusterFlags;
  flag: string;
  arg: string;
  field: string;
  help: string;
  group: 'Control plane and HA' | 'Network' | 'Artifacts and mirrors' | 'PKI';
  kind: 'string' | 'int' | 'list' | 'bool';
  choices?: readonly string[];
}

export const CLUSTER_FLAGS: readonly ClusterFlagDef[] = [
  {
    key: 'lbMode',
    flag: '--lb-mode',
    arg: '<mode>',
    field: 'controlPlane.mode',
    help: 'HA mode (default haproxy; --lb-ip implies external)',
    group: 'Control plane and HA',
    kind: 'string',
    choices: LB_MODES,
  },
  {
    key: 'lbIp',
    flag: '--lb-ip',
    arg: '<ip>',
    field: 'controlPlane.lbIp',
    help: 'external load balancer address',
    group: 'Control plane and HA',
    kind: 'string',
  },
  {
    key: 'lbPort',
    flag: '--lb-port',
    arg: '<port>',
    field: 'controlPlane.port',
    help: 'control-plane endpoint port (default 6443)',
    group: 'Control plane and HA',
    kind: 'int',
  },
  {
    key: 'lbServiceIp',
    flag: '--lb-service-ip',
    arg: '<ip>',
    field: 'controlPlane.serviceIP',
    help: 'updater mode: fixed ClusterIP of the apiserver Service (default service CIDR base + 2)',
    group: 'Control plane and HA',
    kind: 'string',
  },
  {
    key: 'lbDomain',
    flag: '--lb-domain',
    arg: '<name>',
    field: 'controlPlane.endpoint',
    help: 'control-plane endpoint name (default apiserver.cluster.local)',
    group: 'Control plane and HA',
    kind: 'string',
  },
  {
    key: 'certSan',
    flag: '--cert-san',
    arg: '<name|ip>',
    field: 'controlPlane.certSANs',
    help: 'extra apiserver certificate SAN (repeatable)',
    group: 'Control plane and HA',
    kind: 'list',
  },
  {
    key: 'svcCidr',
    flag: '--svc-cidr',
    arg: '<cidr>',
    field: 'network.serviceCIDR',
    help: 'Service CIDR (default 10.96.0.0/12)',
    group: 'Network',
    kind: 'string',
  },
  {
    key: 'podCidr',
    flag: '--pod-cidr',
    arg: '<cidr>',
    field: 'network.podCIDR',
    help: 'Pod CIDR (default 10.244.0.0/16)',
    group: 'Network',
    kind: 'string',
  },
  {
    key: 'dnsDomain',
    flag: '--dns-domain',
    arg: '<domain>',
    field: 'network.dnsDomain',
    help: 'cluster DNS domain (default cluster.local)',
    group: 'Network',
    kind: 'string',
  },
  {
    key: 'cni',
    flag: '--cni',
    arg: '<plugin>',
    field: 'network.cni',
    help: 'network plugin (default calico)',
    group: 'Network',
    kind: 'string',
    choices: CNIS,
  },
  {
    key: 'cniManifest',
    flag: '--cni-manifest',
    arg: '<file>',
    field: 'network.cniManifest',
    help: 'with --cni cilium: the rendered Cilium chart (helm template output)',
    group: 'Network',
    kind: 'string',
  },
  {
    key: 'proxyMode',
    flag: '--proxy-mode',
    arg: '<mode>',
    field: 'network.proxyMode',
    help: 'kube-proxy mode (default iptables)',
    group: 'Network',
    kind: 'string',
    choices: PROXY_MODES,
  },
  {
    key: 'portRange',
    flag: '--port-range',
    arg: '<low-high>',
    field: 'network.nodePortRange',
    help: 'NodePort range (default 30000-32767)',
    group: 'Network',
    kind: 'string',
  },
  {
    key: 'maxPods',
    flag: '--max-pods',
    arg: '<n>',
    field: 'kubelet.maxPods',
    help: 'pods per node (default 110)',
    group: 'Network',
    kind: 'int',
  },
  {
    key: 'cri',
    flag: '--cri',
    arg: '<runtime>',
    field: 'runtime.cri',
    help: 'container runtime',
    group: 'Artifacts and mirrors',
    kind: 'string',
    choices: CRIS,
  },
  {
    key: 'mirror',
    flag: '--mirror',
    arg: '<global|cn|URL>',
    field: 'artifacts.mirrors',
    help: 'artifact source profile or prefix mirror (repeatable, tried in order)',
    group: 'Artifacts and mirrors',
    kind: 'list',
  },
  {
    key: 'imageRepo',
    flag: '--image-repo',
    arg: '<repo>',
    field: 'artifacts.imageRepo',
    help: 'container image repository (repeatable, tried in order)',
    group: 'Artifacts and mirrors',
    kind: 'list',
  },
  {
    key: 'offline',
    flag: '--offline',
    arg: '',
    field: 'artifacts.offline',
    help: 'ship container images from the control machine',
    group: 'Artifacts and mirrors',
    kind: 'bool',
  },
  {
    key: 'certValidity',
    flag: '--cert-validity',
    arg: '<hours>',
    field: 'pki.certValidity',
    help: 'leaf certificate validity (default 876000h = 100 years)',
    group: 'PKI',
    kind: 'string',
  },
  {
    key: 'caValidity',
    flag: '--ca-validity',
    arg: '<hours>',
    field: 'pki.caValidity',
    help: 'CA validity (default 876000h)',
    group: 'PKI',
    kind: 'string',
  },
  {
    key: 'keyAlgorithm',
    flag: '--key-algorithm',
    arg: '<alg>',
    field: 'pki.keyAlgorithm',
    help: 'key type (default RSA-2048)',
    group: 'PKI',
    kind: 'string',
    choices: KEY_ALGORITHMS,
  },
];

export interface ClusterFlags extends NodeFlags {
  lbMode?: string;
  lbIp?: string;
  lbPort?: string;
  lbServiceIp?: string;
  lbDomain?: string;
  svcCidr?: string;
  podCidr?: string;
  dnsDomain?: string;
  cri?: string;
  cni?: string;
  cniManifest?: string;
  proxyMode?: string;
  /** The old name of --proxy-mode, kept hidden so existing scripts still work. */
  proxy?: string;
  mirror?: string[];
  imageRepo?: string[];
  offline?: boolean;
  certSan?: string[];
  maxPods?: string;
  portRange?: string;
  certValidity?: string;
  caValidity?: string;
  keyAlgorithm?: string;
}

function int(value: string, flag: string): number {
  if (!/^\d+$/.test(value))
    throw badInput(`${flag} "${value}" is not a number`, `give ${flag} as a whole number`);
  return Number(value);
}

function labels(text: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw badInput(`${flag} "${pair}" is not key=value`, `write ${flag} k1=v1,k2=v2`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function authLayer(
  user?: string,
  port?: string,
  passwd?: string,
  pkFile?: string,
  pkPassword?: string,
  flag = '--default',
): SshAuth {
  const a: SshAuth = {};
  if (user !== undefined) a.user = user;
  if (port !== undefined) a.port = int(port, `${flag}-port`);
  if (passwd !== undefined) a.password = passwd;
  if (pkFile !== undefined) a.privateKeyFile = pkFile;
  if (pkPassword !== undefined) a.privateKeyPassphrase = pkPassword;
  return a;
}

/** Settings a single value may give for every node of a role (sealos's `--master-passwd` once). */
type PerNode = 'Name' | 'Port' | 'User' | 'Passwd' | 'PkFile' | 'PkPassword' | 'Labels';
const BROADCAST = new Set<PerNode>(['Port', 'User', 'Passwd', 'PkFile', 'PkPassword', 'Labels']);

function perIndex(
  values: string[] | undefined,
  count: number,
  flag: string,
  broadcast: boolean,
): (string | undefined)[] {
  if (values === undefined || values.length === 0) return new Array(count).fill(undefined);
  if (values.length === 1 && broadcast) return new Array(count).fill(values[0]);
  if (values.length !== count) {
    throw badInput(
      `${plural(values.length, `${flag} value`)} for ${plural(count, 'node')}`,
      broadcast
        ? `give ${flag} once for every node of the role, or once per address in the same order`
        : `give ${flag} once per address, in the same order`,
    );
  }
  return values;
}

const SSH_FIELD: Record<Exclude<PerNode, 'Name' | 'Labels'>, keyof SshAuth> = {
  Port: 'port',
  User: 'user',
  Passwd: 'password',
  PkFile: 'privateKeyFile',
  PkPassword: 'privateKeyPassphrase',
};

function roleNodes(
  f: ClusterFlags,
  role: 'master' | 'worker',
  origins: Map<string, string>,
): NodeSpec[] | undefined {
  const short = role === 'master' ? '-m' : '-w';
  const given = role === 'master' ? f.master : f.worker;
  if (!given || given.length === 0) return undefined;
  const ips = expandAddresses(given, short);
  const n = ips.length;
  const list = `${role}s`;
  const flagOf = (suffix: PerNode) =>
    `--${role}-${suffix
      .replace(/([A-Z])/g, '-$1')
      .toLowerCase()
      .replace(/^-/, '')}`;
  const get = (suffix: PerNode) => {
    const values = f[`${role}${suffix}` as keyof ClusterFlags] as string[] | undefined;
    const out = perIndex(values, n, flagOf(suffix), BROADCAST.has(suffix));
    const field = suffix === 'Name' ? 'name' : suffix === 'Labels' ? 'labels' : SSH_FIELD[suffix];
    if (values?.length) for (let i = 0; i < n; i++) origins.set(`${list}[${i}].${field}`, flagOf(suffix));
    return out;
  };
  const names = get('Name');
  const ports = get('Port');
  const users = get('User');
  const passwds = get('Passwd');
  const pkFiles = get('PkFile');
  const pkPasswords = get('PkPassword');
  const labelLists = get('Labels');
  return ips.map((ip, i) => {
    origins.set(`${list}[${i}].ip`, `${short} ${ip}`);
    const node: NodeSpec = {
      ip,
      ...authLayer(users[i], ports[i], passwds[i], pkFiles[i], pkPasswords[i], `--${role}`),
    };
    if (names[i] !== undefined) node.name = names[i];
    if (labelLists[i] !== undefined) node.labels = labels(labelLists[i]!, `--${role}-labels`);
    return node;
  });
}

function parseBastion(text: string): { host: string; user?: string; port?: number } {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(text);
  if (!m) throw badInput(`--bastion "${text}" is not [user@]host[:port]`, 'write it like ops@192.0.2.1:22');
  const out: { host: string; user?: string; port?: number } = { host: m[2]!.replace(/^\[|\]$/g, '') };
  if (m[1]) out.user = m[1];
  if (m[3]) out.port = int(m[3], '--bastion port');
  return out;
}

function merge<T extends object>(base: T | undefined, over: Partial<T>): T {
  return { ...(base ?? ({} as T)), ...over };
}

/** Sets `section.key` of the raw spec, keeping the file's other fields of that section. */
function setField(raw: Record<string, unknown>, field: string, value: unknown): void {
  const [section, key] = field.split('.') as [string, string];
  raw[section] = { ...((raw[section] as Record<string, unknown> | undefined) ?? {}), [key]: value };
}

/** The flag suffix that sets each SSH setting (--default-passwd, --default-master-pk-file, ...). */
const FLAG_OF_SSH: Record<keyof SshAuth, string> = {
  user: 'user',
  port: 'port',
  password: 'passwd',
  privateKeyFile: 'pk-file',
  privateKeyPassphrase: 'pk-password',
  passwordFrom: 'passwd',
  privateKeyPassphraseFrom: 'pk-password',
  sudoPassword: 'passwd',
  sudoPasswordFrom: 'passwd',
};

function splitList(values: string[]): string[] {
  return values.flatMap((s) => s.split(',')).filter(Boolean);
}

/**
 * Builds the raw (not yet validated) spec: the file's content with flags applied over it.
 * `file` is the parsed cluster.yaml or undefined; `name` and `version`, when given, win over the
 * file's. `origins` receives, per field path set by a flag, that flag (for error messages).
 */
export function specFromFlags(
  name: string | undefined,
  version: string,
  f: ClusterFlags,
  file?: Record<string, unknown>,
  origins: Map<string, string> = new Map(),
): ClusterSpecInput {
  const raw = structuredClone(file ?? {}) as Record<string, unknown> & ClusterSpecInput;
  if (name !== undefined && raw.name !== undefined && raw.name !== name) {
    throw badInput(
      `cluster.yaml names cluster "${raw.name}" but the command names "${name}"`,
      'make them the same or drop name: from the file',
    );
  }
  if (name !== undefined) raw.name = name;
  if (raw.name === undefined)
    throw badInput('no cluster name given', 'write kubeon create NAME, or name: in the cluster.yaml');
  if (version) raw.version = version;
  if (raw.version === undefined)
    throw badInput(
      'no Kubernetes version given',
      `write kubeon create ${String(raw.name)} v1.31.2, or version: in the cluster.yaml`,
    );

  const ssh = (raw.ssh ?? {}) as NonNullable<ClusterSpecInput['ssh']>;
  const defaults = authLayer(
    f.defaultUser,
    f.defaultPort,
    f.defaultPasswd,
    f.defaultPkFile,
    f.defaultPkPassword,
  );
  const masters = authLayer(
    f.defaultMasterUser,
    f.defaultMasterPort,
    f.defaultMasterPasswd,
    f.defaultMasterPkFile,
    f.defaultMasterPkPassword,
    '--default-master',
  );
  const workers = authLayer(
    f.defaultWorkerUser,
    f.defaultWorkerPort,
    f.defaultWorkerPasswd,
    f.defaultWorkerPkFile,
    f.defaultWorkerPkPassword,
    '--default-worker',
  );
  for (const [level, layer, prefix] of [
    ['defaults', defaults, '--default-'],
    ['masters', masters, '--default-master-'],
    ['workers', workers, '--default-worker-'],
  ] as const) {
    for (const [k, v] of Object.entries(layer))
      if (v !== undefined) origins.set(`ssh.${level}.${k}`, `${prefix}${FLAG_OF_SSH[k as keyof SshAuth]}`);
  }
  ssh.defaults = merge(ssh.defaults, defaults);
  ssh.masters = merge(ssh.masters, masters);
  ssh.workers = merge(ssh.workers, workers);
  // The asked password lives only in this process's environment, so cluster.yaml never holds it.
  if (f.askPass && ssh.defaults.password === undefined && ssh.defaults.passwordFrom === undefined)
    ssh.defaults = { ...ssh.defaults, passwordFrom: `env:${ASKED_PASSWORD_VAR}` };
  if (f.bastion !== undefined) {
    const b = parseBastion(f.bastion);
    ssh.bastion = {
      ...b,
      ...(f.bastionPasswd !== undefined ? { password: f.bastionPasswd } : {}),
      ...(f.bastionPkFile !== undefined ? { privateKeyFile: f.bastionPkFile } : {}),
    };
  }
  raw.ssh = ssh;

  const m = roleNodes(f, 'master', origins);
  if (m) raw.masters = m;
  const w = roleNodes(f, 'worker', origins);
  if (w) raw.workers = w;
  raw.masters ??= [];

  const given: ClusterFlags = {
    ...f,
    ...(f.proxyMode === undefined && f.proxy !== undefined ? { proxyMode: f.proxy } : {}),
  };
  for (const def of CLUSTER_FLAGS) {
    const value = given[def.key];
    if (value === undefined) continue;
    origins.set(def.field, def.flag);
    if (def.kind === 'int') setField(raw, def.field, int(value as string, def.flag));
    else if (def.kind === 'list') {
      const items = splitList(value as string[]);
      // SANs add to the file's list (a name more never hurts); mirrors and repos replace the order.
      const prior = def.key === 'certSan' ? ((raw.controlPlane?.certSANs as string[] | undefined) ?? []) : [];
      setField(raw, def.field, [...prior, ...items]);
    } else setField(raw, def.field, value);
  }
  if (f.lbIp !== undefined && f.lbMode === undefined) {
    setField(raw, 'controlPlane.mode', 'external');
    origins.set('controlPlane.mode', '--lb-ip');
  }
  return raw;
}
