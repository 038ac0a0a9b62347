import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterState } from '../cluster/state.js';
import { type EtcdSession, withEtcd } from '../etcd/connect.js';
import { healthOfAll, statusOfAll } from '../etcd/report.js';
import type { Fleet } from '../fleet/fleet.js';
import type { FleetTarget } from '../fleet/types.js';
import { haModeOf } from '../ha/index.js';
import { localInventory } from '../pki/inventory.js';
import { API_BIND_PORT } from '../pki/profiles.js';
import { dialDirect, type KubeApi, type KubeCredentials, kubeApi } from './kube.js';
import {
  type ApiNode,
  type ApiPod,
  controlPlanePods,
  type EtcdMemberRow,
  type HaWorkerHealth,
  type InfoReport,
  nodeRow,
  podsSummary,
} from './summary.js';

/**
 * Gathers `kubeon info`: the API (version, Nodes, Pods), etcd through a master, the PKI on this
 * machine, the HA mode's probe and the journal, all at once. A source that fails is reported in its
 * own section; it never hides the others.
 */

/**
 * HA health per worker, as the cluster's HA mode probes it (src/ha/health-probe.ts). A probe that
 * fails leaves `ha.workers: null` with its error, rather than a guess.
 */
export type HaHealthProbe = () => Promise<HaWorkerHealth[]>;

export interface InfoMaster {
  name: string;
  ip: string;
  target: FleetTarget;
}

export interface InfoSources {
  spec: ClusterSpec;
  state: ClusterState | undefined;
  paths: { pki: string; kubeconfig: string };
  fleet: Pick<Fleet, 'tunnel'>;
  masters: readonly InfoMaster[];
  credentials: KubeCredentials;
  haProbe: HaHealthProbe;
  /** How long a direct connection to the API address may take before the tunnel is tried. */
  directTimeoutMs?: number;
  now: Date;
}

/**
 * The API reached from here when its address answers, else through the first master whose own API
 * server an SSH tunnel reaches (its certificate carries the endpoint name the kubeconfig checks).
 */
export async function connectApi(src: InfoSources): Promise<KubeApi> {
  const { credentials: creds } = src;
  const reasons: string[] = [];
  try {
    (await dialDirect(creds.server, src.directTimeoutMs ?? 3000)).destroy();
    return kubeApi(creds, 'direct', () => dialDirect(creds.server, 10_000));
  } catch (err) {
    reasons.push(`${creds.server.host}: ${(err as Error).message}`);
  }
  for (const m of src.masters) {
    const dial = () => src.fleet.tunnel(m.target, m.ip, API_BIND_PORT);
    try {
      (await dial()).destroy();
      return kubeApi(creds, `tunnel through ${m.name}`, dial);
    } catch (err) {
      reasons.push(`${m.name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`the API answers neither directly nor through a master (${reasons.join('; ')})`);
}

interface List<T> {
  items: T[];
}

async function apiPart(src: InfoSources) {
  const api = await connectApi(src);
  const [version, nodes, pods] = await Promise.all([
    api.get<{ gitVersion?: string }>('/version'),
    api.get<List<ApiNode>>('/api/v1/nodes'),
    api.get<List<ApiPod>>('/api/v1/pods'),
  ]);
  return { api, version: version.gitVersion, nodes: nodes.items, pods: pods.items };
}

async function etcdPart(src: InfoSources): Promise<EtcdMemberRow[]> {
  const session: EtcdSession = { spec: src.spec, paths: src.paths, fleet: src.fleet };
  return withEtcd(
    session,
    src.masters.map((m) => m.target),
    async (e) => {
      const [members, statuses, health] = await Promise.all([
        e.client.members(e.endpoint),
        statusOfAll(e.client, e.endpoints),
        healthOfAll(e.client, e.endpoints),
      ]);
      return members.map((m) => {
        const i = statuses.findIndex((s) => s.status?.memberId === m.id);
        const s = statuses[i]?.status;
        const h = i >= 0 ? health[i] : undefined;
        return {
          name: m.name,
          id: m.id,
          healthy: Boolean(h?.healthy),
          leader: Boolean(s?.isLeader),
          dbSize: s?.dbSize ?? 0,
          version: s?.version ?? '',
          ...(s ? (h?.error ? { error: h.error } : {}) : { error: 'no master of this cluster reaches it' }),
        };
      });
    },
    { now: src.now, timeoutMs: 5000 },
  );
}

async function earliestCertificate(src: InfoSources): Promise<InfoReport['certificates']> {
  const rows = await localInventory(src.paths.pki, src.paths.kubeconfig, src.now);
  const first = [...rows].sort((a, b) => a.residualSeconds - b.residualSeconds)[0];
  return first
    ? {
        earliest: {
          name: first.name,
          where: first.where,
          notAfter: first.notAfter,
          residualSeconds: first.residualSeconds,
        },
      }
    : {};
}

/** The mode in force (`none` with one master); a mode whose implementation has not landed shows as written. */
function effectiveMode(spec: ClusterSpec): string {
  try {
    return haModeOf(spec).id;
  } catch {
    return spec.controlPlane.mode;
  }
}

const message = (r: PromiseRejectedResult) => (r.reason as Error)?.message ?? String(r.reason);

export async function collectInfo(src: InfoSources): Promise<InfoReport> {
  const [api, etcd, certs, ha] = await Promise.allSettled([
    apiPart(src),
    etcdPart(src),
    earliestCertificate(src),
    src.haProbe(),
  ]);
  const journal = src.state?.journal ?? [];
  const step = journal.at(-1);
  return {
    cluster: {
      name: src.spec.name,
      version: api.status === 'fulfilled' ? api.value.version : undefined,
      endpoint: `${src.spec.controlPlane.endpoint}:${src.spec.controlPlane.port}`,
      api: {
        server: src.credentials.server.toString(),
        via: api.status === 'fulfilled' ? api.value.api.via : 'unreachable',
        ...(api.status === 'rejected' ? { error: message(api) } : {}),
      },
    },
    ha: {
      mode: effectiveMode(src.spec),
      workers: ha.status === 'fulfilled' ? ha.value : null,
      ...(ha.status === 'rejected' ? { error: message(ha) } : {}),
    },
    certificates: certs.status === 'fulfilled' ? certs.value : { error: message(certs) },
    nodes: api.status === 'fulfilled' ? api.value.nodes.map((n) => nodeRow(n, src.now)) : [],
    pods: api.status === 'fulfilled' ? podsSummary(api.value.pods) : { total: 0, notRunning: {} },
    controlPlane: api.status === 'fulfilled' ? controlPlanePods(api.value.pods) : {},
    etcd: etcd.status === 'fulfilled' ? { members: etcd.value } : { members: [], error: message(etcd) },
    ...(src.state
      ? {
          lastOperation: {
            status: src.state.status,
            updatedAt: src.state.updatedAt,
            ...(step
              ? {
                  step: {
                    phase: step.phase,
                    ...(step.node !== undefined ? { node: step.node } : {}),
                    status: step.status,
                    at: step.at,
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}
