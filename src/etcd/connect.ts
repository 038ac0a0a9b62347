import { clusterNodes } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterState } from '../cluster/state.js';
import { KubeonError } from '../core/errors.js';
import { targetOf } from '../fleet/cluster.js';
import type { Fleet } from '../fleet/fleet.js';
import type { FleetTarget } from '../fleet/types.js';
import { ensureControlEtcdClient } from '../pki/store.js';
import { EtcdClient, type EtcdEndpoint, type MemberStatus } from './client.js';

/**
 * How every command reaches a cluster's stacked etcd: through an SSH tunnel to a master's loopback
 * client port (kubeadm's etcd listens on 127.0.0.1:2379 and on the node IP; only the loopback one
 * needs no open port), authenticated with the control machine's own client certificate from the
 * cluster's etcd CA (`pki/control/etcd-client.*`, made on first use).
 */

/** kubeadm's etcd client port; its server certificate names `localhost` and 127.0.0.1 on every master. */
export const ETCD_CLIENT_PORT = 2379;
const ETCD_SERVER_NAME = 'localhost';

/** What `withEtcd` needs from a session: the spec, the PKI directory and the fleet's tunnels. */
export interface EtcdSession {
  spec: ClusterSpec;
  paths: { pki: string };
  fleet: Pick<Fleet, 'tunnel'>;
}

export interface EtcdAccess {
  client: EtcdClient;
  /** The first master (in the order given) whose member answered: use it for cluster-wide calls. */
  endpoint: EtcdEndpoint;
  /** Its status, read when it was chosen (leader, revision, DB size). */
  status: MemberStatus;
  /** One endpoint per master, in the order given, for per-member calls (status, health, defrag). */
  endpoints: EtcdEndpoint[];
}

export interface WithEtcdOptions {
  now?: Date;
  /** Per-request timeout of the client (default 10 s). */
  timeoutMs?: number;
}

/** The member on master `t`, reached through an SSH tunnel from the control machine. */
export function tunnelEndpoint(fleet: Pick<Fleet, 'tunnel'>, t: FleetTarget): EtcdEndpoint {
  return {
    name: t.name,
    dial: () => fleet.tunnel(t, '127.0.0.1', ETCD_CLIENT_PORT),
    servername: ETCD_SERVER_NAME,
  };
}

/**
 * Opens the cluster's etcd and runs `fn` with it. `masters` are the masters' fleet targets (their
 * `name` is the node name); the first whose member answers a status call is chosen, so a master that
 * is down or whose etcd is stopped never blocks a command that another member can serve. Fails with
 * every master's reason when none answers.
 */
export async function withEtcd<T>(
  session: EtcdSession,
  masters: readonly FleetTarget[],
  fn: (etcd: EtcdAccess) => Promise<T>,
  opts: WithEtcdOptions = {},
): Promise<T> {
  if (masters.length === 0)
    throw new KubeonError(`cluster "${session.spec.name}" has no master to reach etcd through`, {
      hint: 'check the masters in cluster.yaml (kubeon view config NAME)',
    });
  const tls = await ensureControlEtcdClient(session.paths.pki, session.spec, opts.now ?? new Date());
  const client = new EtcdClient(tls, opts.timeoutMs);
  const endpoints = masters.map((t) => tunnelEndpoint(session.fleet, t));
  const reasons: string[] = [];
  for (const endpoint of endpoints) {
    let status: MemberStatus;
    try {
      status = await client.status(endpoint);
    } catch (err) {
      reasons.push(`${endpoint.name}: ${(err as Error).message}`);
      continue;
    }
    return fn({ client, endpoint, status, endpoints });
  }
  throw new KubeonError(
    `etcd of cluster "${session.spec.name}" answers on no master (${reasons.join('; ')})`,
    {
      hint: 'check that the masters are up and their etcd static pods run (kubeon exec NAME@masters crictl ps)',
    },
  );
}

/** The masters' fleet targets in spec order (the first master first), named as the journal knows them. */
export function masterTargets(
  spec: ClusterSpec,
  state: ClusterState | undefined,
  env: NodeJS.ProcessEnv,
): FleetTarget[] {
  return clusterNodes(spec)
    .filter((n) => n.role === 'master')
    .map((n) => targetOf(n, state, env));
}
