import { type ClusterNode, nodeLabel, nodeSecrets, resolveSecret } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterState } from '../cluster/state.js';
import type { FleetOptions } from './fleet.js';
import { HostKeyPins } from './hostkeys.js';
import { Redactor } from './log.js';
import type { FleetTarget, JumpHost } from './types.js';

/** How a command wants the fleet to behave, from its flags. */
export interface FleetSettings {
  concurrency?: number;
  connectTimeoutMs?: number;
  /** Per-step timeout. */
  timeoutMs?: number;
  sudo?: boolean;
  acceptNewHostKey?: string[];
  insecureIgnoreHostKey?: boolean;
}

/** The name a node goes by: its spec name, the name learnt at registration, or role@ip. */
export function nodeName(n: ClusterNode, state: ClusterState | undefined): string {
  return n.name ?? state?.nodes[n.ip]?.name ?? nodeLabel(n);
}

export function targetOf(
  n: ClusterNode,
  state: ClusterState | undefined,
  env: NodeJS.ProcessEnv,
): FleetTarget {
  const s = nodeSecrets(n, env);
  return {
    name: nodeName(n, state),
    host: n.ip,
    port: n.ssh.port,
    user: n.ssh.user,
    ...(s.password !== undefined ? { password: s.password } : {}),
    ...(n.ssh.privateKeyFile !== undefined ? { privateKeyFile: n.ssh.privateKeyFile } : {}),
    ...(s.privateKeyPassphrase !== undefined ? { privateKeyPassphrase: s.privateKeyPassphrase } : {}),
    ...(s.sudoPassword !== undefined ? { sudoPassword: s.sudoPassword } : {}),
  };
}

export function jumpHostOf(spec: ClusterSpec, env: NodeJS.ProcessEnv): JumpHost | undefined {
  const b = spec.ssh.bastion;
  if (!b) return undefined;
  const where = `jump host ${b.host}`;
  const password = resolveSecret(b.password, b.passwordFrom, `password of ${where}`, env);
  const passphrase = resolveSecret(
    b.privateKeyPassphrase,
    b.privateKeyPassphraseFrom,
    `key passphrase of ${where}`,
    env,
  );
  return {
    host: b.host,
    port: b.port ?? 22,
    user: b.user ?? 'root',
    ...(password !== undefined ? { password } : {}),
    ...(b.privateKeyFile !== undefined ? { privateKeyFile: b.privateKeyFile } : {}),
    ...(passphrase !== undefined ? { privateKeyPassphrase: passphrase } : {}),
  };
}

/** Every secret a run could touch, for redaction of logs and messages. */
export function secretsOf(targets: readonly FleetTarget[], jump: JumpHost | undefined): Redactor {
  const all: (string | undefined)[] = [];
  for (const t of targets) all.push(t.password, t.privateKeyPassphrase, t.sudoPassword);
  if (jump) all.push(jump.password, jump.privateKeyPassphrase);
  return new Redactor(all);
}

/** Fleet options for a cluster; the logger is the caller's (a file for real runs). */
export async function clusterFleetOptions(
  spec: ClusterSpec,
  knownHostsPath: string | undefined,
  settings: FleetSettings,
  env: NodeJS.ProcessEnv,
  log: FleetOptions['log'],
): Promise<FleetOptions> {
  const jump = jumpHostOf(spec, env);
  return {
    ...(settings.concurrency !== undefined ? { concurrency: settings.concurrency } : {}),
    ...(settings.connectTimeoutMs !== undefined ? { connectTimeoutMs: settings.connectTimeoutMs } : {}),
    hostKeys: {
      pins: await HostKeyPins.load(knownHostsPath),
      acceptNew: new Set(settings.acceptNewHostKey ?? []),
      ignore: Boolean(settings.insecureIgnoreHostKey),
    },
    env,
    log,
    ...(jump ? { bastion: jump } : {}),
  };
}
