import { badInput } from '../core/errors.js';
import type { ClusterSpec, NodeSpec, Role, SshAuth } from './spec.js';
import { SSH_SETTINGS } from './spec-names.js';

/** A node with its SSH settings layered: node, then role defaults, then global defaults, then built-ins. */
export interface ClusterNode {
  role: Role;
  /** Position within its role, 0-based; `@first` is master 0. */
  index: number;
  ip: string;
  /** Unset until first contact when the user gave no name (then the node's hostname is used). */
  name: string | undefined;
  labels: Record<string, string>;
  ssh: EffectiveSsh;
}

export interface EffectiveSsh {
  user: string;
  port: number;
  password?: string;
  passwordFrom?: string;
  privateKeyFile?: string;
  privateKeyPassphrase?: string;
  privateKeyPassphraseFrom?: string;
  sudoPassword?: string;
  sudoPasswordFrom?: string;
}

export function layerSsh(...layers: (SshAuth | undefined)[]): EffectiveSsh {
  const out: Record<string, unknown> = { user: 'root', port: 22 };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of SSH_SETTINGS) {
      const v = layer[key];
      if (v !== undefined) out[key] = v;
    }
  }
  return out as unknown as EffectiveSsh;
}

function toNode(spec: ClusterSpec, role: Role, n: NodeSpec, index: number): ClusterNode {
  const roleLayer = role === 'master' ? spec.ssh.masters : spec.ssh.workers;
  return {
    role,
    index,
    ip: n.ip,
    name: n.name,
    labels: n.labels ?? {},
    ssh: layerSsh(spec.ssh.defaults, roleLayer, n),
  };
}

/** Every node of the cluster, masters first, in spec order. */
export function clusterNodes(spec: ClusterSpec): ClusterNode[] {
  return [
    ...spec.masters.map((n, i) => toNode(spec, 'master', n, i)),
    ...spec.workers.map((n, i) => toNode(spec, 'worker', n, i)),
  ];
}

/** Label used in messages: the name when known, else role and address. */
export function nodeLabel(n: Pick<ClusterNode, 'name' | 'ip' | 'role'>): string {
  return n.name ?? `${n.role}@${n.ip}`;
}

/**
 * Resolves `*From: env:VAR` references. Done at run time, never stored: the spec keeps the reference.
 */
export function resolveSecret(
  value: string | undefined,
  from: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (value !== undefined) return value;
  if (from === undefined) return undefined;
  const varName = from.slice('env:'.length);
  const v = env[varName];
  if (v === undefined || v === '') {
    throw badInput(
      `${what} comes from ${from} but ${varName} is not set`,
      `export ${varName}=... before running kubeon`,
    );
  }
  return v;
}

export interface NodeSecrets {
  password: string | undefined;
  privateKeyPassphrase: string | undefined;
  sudoPassword: string | undefined;
}

export function nodeSecrets(n: ClusterNode, env: NodeJS.ProcessEnv = process.env): NodeSecrets {
  const label = nodeLabel(n);
  const password = resolveSecret(n.ssh.password, n.ssh.passwordFrom, `password of ${label}`, env);
  return {
    password,
    privateKeyPassphrase: resolveSecret(
      n.ssh.privateKeyPassphrase,
      n.ssh.privateKeyPassphraseFrom,
      `key passphrase of ${label}`,
      env,
    ),
    sudoPassword:
      resolveSecret(n.ssh.sudoPassword, n.ssh.sudoPasswordFrom, `sudo password of ${label}`, env) ?? password,
  };
}
