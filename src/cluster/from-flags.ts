import { badInput } from '../core/errors.js';
import type { ClusterSpecInput, NodeSpec, SshAuth } from './spec.js';

/**
 * Command-line flags (compatible with the original kubeon) layered over an optional cluster.yaml.
 * Flags win over the file. Repeatable per-node flags are parallel lists: the i-th value belongs to
 * the i-th -m/-w address.
 */
export interface AuthFlags {
  User?: string;
  Port?: string;
  Passwd?: string;
  PkFile?: string;
  PkPassword?: string;
}

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
  /** Filled by --ask-pass: applies where no other password was given. */
  askedPassword?: string;
}

export interface ClusterFlags extends NodeFlags {
  lbMode?: string;
  lbIp?: string;
  lbPort?: string;
  lbDomain?: string;
  svcCidr?: string;
  podCidr?: string;
  dnsDomain?: string;
  cri?: string;
  cni?: string;
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

function perIndex(values: string[] | undefined, count: number, flag: string): (string | undefined)[] {
  if (values === undefined || values.length === 0) return new Array(count).fill(undefined);
  if (values.length !== count) {
    throw badInput(
      `${values.length} ${flag} value(s) for ${count} node(s)`,
      `give ${flag} once per address, in the same order, or use the --default-* flag for all`,
    );
  }
  return values;
}

function roleNodes(f: ClusterFlags, role: 'master' | 'worker'): NodeSpec[] | undefined {
  const ips = role === 'master' ? f.master : f.worker;
  if (!ips || ips.length === 0) return undefined;
  const n = ips.length;
  const get = (suffix: 'Name' | 'Port' | 'User' | 'Passwd' | 'PkFile' | 'PkPassword' | 'Labels') =>
    perIndex(
      f[`${role}${suffix}` as keyof ClusterFlags] as string[] | undefined,
      n,
      `--${role}-${suffix
        .replace(/([A-Z])/g, '-$1')
        .toLowerCase()
        .replace(/^-/, '')}`,
    );
  const names = get('Name');
  const ports = get('Port');
  const users = get('User');
  const passwds = get('Passwd');
  const pkFiles = get('PkFile');
  const pkPasswords = get('PkPassword');
  const labelLists = get('Labels');
  return ips.map((ip, i) => {
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

/**
 * Builds the raw (not yet validated) spec: the file's content with flags applied over it.
 * `file` is the parsed cluster.yaml or undefined.
 */
export function specFromFlags(
  name: string,
  version: string,
  f: ClusterFlags,
  file?: Record<string, unknown>,
): ClusterSpecInput {
  const raw = structuredClone(file ?? {}) as Record<string, unknown> & ClusterSpecInput;
  if (raw.name !== undefined && raw.name !== name) {
    throw badInput(
      `cluster.yaml names cluster "${raw.name}" but the command names "${name}"`,
      'make them the same or drop name: from the file',
    );
  }
  raw.name = name;
  if (version) raw.version = version;

  const ssh = (raw.ssh ?? {}) as NonNullable<ClusterSpecInput['ssh']>;
  const defaults = authLayer(
    f.defaultUser,
    f.defaultPort,
    f.defaultPasswd ?? f.askedPassword,
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
  ssh.defaults = merge(ssh.defaults, defaults);
  ssh.masters = merge(ssh.masters, masters);
  ssh.workers = merge(ssh.workers, workers);
  if (f.bastion !== undefined) {
    const b = parseBastion(f.bastion);
    ssh.bastion = {
      ...b,
      ...(f.bastionPasswd !== undefined ? { password: f.bastionPasswd } : {}),
      ...(f.bastionPkFile !== undefined ? { privateKeyFile: f.bastionPkFile } : {}),
    };
  }
  raw.ssh = ssh;

  const m = roleNodes(f, 'master');
  if (m) raw.masters = m;
  const w = roleNodes(f, 'worker');
  if (w) raw.workers = w;
  raw.masters ??= [];

  const cp = { ...(raw.controlPlane ?? {}) } as NonNullable<ClusterSpecInput['controlPlane']>;
  if (f.lbDomain !== undefined) cp.endpoint = f.lbDomain;
  if (f.lbPort !== undefined) cp.port = int(f.lbPort, '--lb-port');
  if (f.lbIp !== undefined) {
    cp.lbIp = f.lbIp;
    cp.mode = 'external';
  }
  if (f.lbMode !== undefined) cp.mode = f.lbMode as 'haproxy';
  if (f.certSan?.length)
    cp.certSANs = [...(cp.certSANs ?? []), ...f.certSan.flatMap((s) => s.split(',')).filter(Boolean)];
  raw.controlPlane = cp;

  const net = { ...(raw.network ?? {}) } as NonNullable<ClusterSpecInput['network']>;
  if (f.svcCidr !== undefined) net.serviceCIDR = f.svcCidr;
  if (f.podCidr !== undefined) net.podCIDR = f.podCidr;
  if (f.dnsDomain !== undefined) net.dnsDomain = f.dnsDomain;
  if (f.cni !== undefined) net.cni = f.cni as 'calico';
  if (f.proxy !== undefined) net.proxyMode = f.proxy as 'iptables';
  if (f.portRange !== undefined) net.nodePortRange = f.portRange;
  raw.network = net;

  if (f.maxPods !== undefined)
    raw.kubelet = { ...(raw.kubelet ?? {}), maxPods: int(f.maxPods, '--max-pods') };
  if (f.cri !== undefined) raw.runtime = { ...(raw.runtime ?? {}), cri: f.cri as 'containerd' };

  const art = { ...(raw.artifacts ?? {}) } as NonNullable<ClusterSpecInput['artifacts']>;
  if (f.mirror?.length) art.mirrors = f.mirror.flatMap((s) => s.split(',')).filter(Boolean);
  if (f.imageRepo?.length) art.imageRepo = f.imageRepo;
  if (f.offline !== undefined) art.offline = f.offline;
  raw.artifacts = art;

  const pki = { ...(raw.pki ?? {}) } as NonNullable<ClusterSpecInput['pki']>;
  if (f.certValidity !== undefined) pki.certValidity = f.certValidity;
  if (f.caValidity !== undefined) pki.caValidity = f.caValidity;
  if (f.keyAlgorithm !== undefined) pki.keyAlgorithm = f.keyAlgorithm as 'RSA-2048';
  raw.pki = pki;
  return raw;
}
