import type { ClusterNode } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { raw, type Script, script, sh } from '../fleet/script.js';
import type { FleetTarget } from '../fleet/types.js';
import type { PhaseFleet } from '../phases/phase.js';
import { HAPROXY_HEALTH_PORT, HAPROXY_STATS_PATH } from '../render/haproxy.js';
import { lbProbeScript, mastersSeen } from './external.js';
import { haModeOf } from './index.js';
import type { HaMode } from './mode.js';
import { hostsBlockAddress, updaterHealth } from './updater/health.js';
import { serviceIpOf } from './updater/mode.js';
import { UPDATER } from './updater/names.js';

/**
 * The HA probe behind `kubeon info`: per worker, where its endpoint name points and which apiservers
 * its requests can reach right now, and per master whether it is in rotation on every path. Read-only:
 * /etc/hosts, haproxy's loopback stats, the updater's slices, TLS handshakes through the external LB.
 */

export interface ProbeNode {
  node: Pick<ClusterNode, 'role' | 'ip' | 'name'>;
  target: FleetTarget;
}

export interface HaProbeInput {
  spec: ClusterSpec;
  fleet: Pick<PhaseFleet, 'run'>;
  /** Every node of the cluster, with names (as the session resolved them). */
  nodes: readonly ProbeNode[];
  sudo?: boolean;
  timeoutMs?: number;
}

export type Route =
  /** haproxy mode: the local haproxy on 127.0.0.1 */
  | 'haproxy'
  /** updater mode: the Service IP */
  | 'service'
  /** straight to a master (one master, or the updater's boot fallback) */
  | 'master'
  /** external mode: the user's load balancer */
  | 'lb'
  | 'broken';

export interface WorkerReach {
  node: string;
  /** The address the cluster's hosts block gives the endpoint name; undefined: no block. */
  resolvesTo: string | undefined;
  route: Route;
  /** Names of the masters this worker's requests can reach now. */
  reaches: string[];
  ok: boolean;
  problem?: string;
}

export interface HaHealth {
  mode: HaMode['id'];
  /** `name:port` */
  endpoint: string;
  ok: boolean;
  /** inRotation: reachable on every worker's path (updater: in the Service's slice). */
  masters: { name: string; ip: string; inRotation: boolean }[];
  workers: WorkerReach[];
  problems: string[];
}

const BLOCK = '--kubeon-hosts--';
const MODE = '--kubeon-mode--';

const nameOf = (n: ProbeNode) => n.node.name ?? n.node.ip;

/** One script per worker: the hosts file, then what the mode's path shows from there. */
function workerScript(spec: ClusterSpec, mode: HaMode['id'], masters: readonly ProbeNode[]): Script {
  const extra = (() => {
    switch (mode) {
      case 'haproxy':
        return [
          sh`curl -fsS --max-time 3 ${`http://127.0.0.1:${HAPROXY_HEALTH_PORT}${HAPROXY_STATS_PATH};csv`} || true`,
        ];
      case 'external': {
        const lb = { ip: spec.controlPlane.lbIp!, port: spec.controlPlane.port };
        return [raw(lbProbeScript(lb, spec.controlPlane.endpoint, 3 * masters.length).text)];
      }
      default:
        // Which masters answer /readyz from here (none; updater fallback).
        return masters.map(
          (m) =>
            sh`if curl -ksf --max-time 3 -o /dev/null ${`https://${m.node.ip.includes(':') ? `[${m.node.ip}]` : m.node.ip}:6443/readyz`}; then echo ${`ready ${m.node.ip}`}; fi`,
        );
    }
  })();
  return script(
    'probe the control-plane endpoint',
    sh`echo ${BLOCK}`,
    raw('cat /etc/hosts'),
    sh`echo ${MODE}`,
    ...extra,
  );
}

function split(out: string): { hosts: string; rest: string } {
  const [, after = ''] = out.split(`${BLOCK}\n`);
  const [hosts = '', rest = ''] = after.split(`${MODE}\n`);
  return { hosts, rest };
}

/** Server states of the kube-apiserver backend from haproxy's `;csv` stats: server name -> UP? */
export function haproxyServers(csv: string): Map<string, boolean> {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0]?.replace(/^# /, '').split(',') ?? [];
  const [px, sv, st] = ['pxname', 'svname', 'status'].map((c) => head.indexOf(c));
  const out = new Map<string, boolean>();
  if (px! < 0 || sv! < 0 || st! < 0) return out;
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[px!] !== 'kube-apiserver' || f[sv!] === 'FRONTEND' || f[sv!] === 'BACKEND') continue;
    out.set(f[sv!]!, f[st!]!.startsWith('UP'));
  }
  return out;
}

async function runOn(i: HaProbeInput, n: ProbeNode, s: Script): Promise<{ out?: string; error?: string }> {
  const [r] = await i.fleet.run([n.target], s, {
    sudo: Boolean(i.sudo),
    timeoutMs: i.timeoutMs ?? 60_000,
  });
  return r!.error ? { error: r!.error.message } : { out: r!.stdout };
}

const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

const SLICE_SPLIT = '--kubeon-slice--';

/** Ready addresses of an EndpointSlice as `kubectl get -o json` prints it (ready unset counts as ready). */
export function readyAddresses(json: string): string[] {
  const slice = JSON.parse(json) as {
    endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  };
  return (slice.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => e.addresses ?? []);
}

/** Ready addresses of the `default/kubernetes` and `kube-system/apiserver` slices, read on a master. */
async function slices(i: HaProbeInput, master: ProbeNode) {
  const s = script(
    'read the apiserver slices',
    sh`${raw(KUBECTL)} -n ${UPDATER.source.namespace} get endpointslice ${UPDATER.source.name} -o json`,
    sh`echo ${SLICE_SPLIT}`,
    sh`${raw(KUBECTL)} -n ${UPDATER.namespace} get endpointslice ${UPDATER.slice} -o json`,
  );
  const r = await runOn(i, master, s);
  if (r.error) return { error: r.error, live: [], routed: [] };
  try {
    const [live = '', routed = ''] = r.out!.split(`${SLICE_SPLIT}\n`);
    return { live: readyAddresses(live), routed: readyAddresses(routed) };
  } catch (err) {
    return { error: `unreadable slices: ${(err as Error).message}`, live: [], routed: [] };
  }
}

export async function probeHa(i: HaProbeInput): Promise<HaHealth> {
  const mode = haModeOf(i.spec).id;
  const cp = i.spec.controlPlane;
  const masters = i.nodes.filter((n) => n.node.role === 'master');
  const workers = i.nodes.filter((n) => n.node.role === 'worker');
  const byIp = new Map(masters.map((m) => [m.node.ip, nameOf(m)]));
  const problems: string[] = [];
  const serviceIp = mode === 'updater' ? serviceIpOf(i.spec) : undefined;
  const gathered = await Promise.all(workers.map((w) => runOn(i, w, workerScript(i.spec, mode, masters))));
  const sl = mode === 'updater' && masters[0] ? await slices(i, masters[0]) : undefined;
  if (sl?.error) problems.push(`the apiserver slices could not be read: ${sl.error}`);
  const live = new Set(sl?.live ?? []);
  const routed = sl?.routed ?? [];

  const reach: WorkerReach[] = workers.map((w, k) => {
    const g = gathered[k]!;
    const node = nameOf(w);
    if (g.error)
      return { node, resolvesTo: undefined, route: 'broken', reaches: [], ok: false, problem: g.error };
    const { hosts, rest } = split(g.out!);
    const to = hostsBlockAddress(hosts, i.spec.name, cp.endpoint);
    const names = (ips: Iterable<string>) => [...ips].map((ip) => byIp.get(ip) ?? ip);
    switch (mode) {
      case 'haproxy': {
        const servers = haproxyServers(rest);
        const up = masters.filter((m) => servers.get(nameOf(m)) === true).map(nameOf);
        const problem =
          to !== '127.0.0.1'
            ? `${cp.endpoint} resolves to ${to ?? 'nothing'}, not its local haproxy`
            : servers.size === 0
              ? 'its local haproxy does not answer on 127.0.0.1'
              : up.length === 0
                ? 'no master is up behind its local haproxy'
                : undefined;
        return {
          node,
          resolvesTo: to,
          route: 'haproxy',
          reaches: up,
          ok: !problem,
          ...(problem ? { problem } : {}),
        };
      }
      case 'external': {
        const seen = mastersSeen(rest, [...byIp.keys()]);
        const problem =
          to !== cp.lbIp
            ? `${cp.endpoint} resolves to ${to ?? 'nothing'}, not the load balancer ${cp.lbIp}`
            : seen.size === 0
              ? `no apiserver of this cluster answers through ${cp.lbIp}:${cp.port}`
              : undefined;
        return {
          node,
          resolvesTo: to,
          route: 'lb',
          reaches: names(seen),
          ok: !problem,
          ...(problem ? { problem } : {}),
        };
      }
      default: {
        const ready = new Set(
          rest
            .split('\n')
            .filter((l) => l.startsWith('ready '))
            .map((l) => l.slice(6)),
        );
        if (mode === 'updater') {
          const h = updaterHealth({
            serviceIp: serviceIp!,
            masters: [...byIp.keys()],
            liveApiservers: [...live],
            serviceSlice: routed,
            workers: [{ node, resolvesTo: to }],
          }).workers[0]!;
          const via = h.route === 'service' ? routed : to && ready.has(to) ? [to] : [];
          const problem =
            h.route === 'broken'
              ? `${cp.endpoint} resolves to ${to ?? 'nothing'}, neither the Service IP ${serviceIp} nor a live master`
              : undefined;
          return {
            node,
            resolvesTo: to,
            route: h.route === 'broken' ? 'broken' : h.route,
            reaches: names(via),
            ok: !problem,
            ...(problem ? { problem } : {}),
          };
        }
        const problem =
          !to || !byIp.has(to)
            ? `${cp.endpoint} resolves to ${to ?? 'nothing'}, not the master`
            : !ready.has(to)
              ? `the master ${to} does not answer /readyz from here`
              : undefined;
        return {
          node,
          resolvesTo: to,
          route: 'master',
          reaches: to && ready.has(to) ? names([to]) : [],
          ok: !problem,
          ...(problem ? { problem } : {}),
        };
      }
    }
  });

  const rotation = masters.map((m) => {
    const name = nameOf(m);
    const inRotation =
      mode === 'updater'
        ? live.has(m.node.ip) && routed.includes(m.node.ip)
        : reach.length > 0 && reach.every((w) => w.reaches.includes(name));
    return { name, ip: m.node.ip, inRotation };
  });
  for (const m of rotation) if (!m.inRotation) problems.push(`master ${m.name} (${m.ip}) is not in rotation`);
  for (const w of reach) if (w.problem) problems.push(`worker ${w.node}: ${w.problem}`);
  const endpoint = `${cp.endpoint}:${cp.port}`;
  return {
    mode,
    endpoint,
    ok: problems.length === 0,
    masters: rotation,
    workers: reach,
    problems,
  };
}
