import { hostsMarkers } from './boot.js';

/**
 * The updater mode's health for `kubeon info`, as a pure function of what the plumbing gathers:
 * each worker's hosts block (over SSH), the `default/kubernetes` and `kube-system/apiserver` slices
 * (from the API).
 */

export interface UpdaterHealthInput {
  serviceIp: string;
  masters: readonly string[];
  /** Ready addresses of the `default/kubernetes` slice: the apiservers that are up. */
  liveApiservers: readonly string[];
  /** Addresses of the updater's own slice: where the Service IP sends traffic. */
  serviceSlice: readonly string[];
  /** Per worker, the address its hosts block gives the endpoint name (undefined: no block). */
  workers: readonly { node: string; resolvesTo: string | undefined }[];
}

export type WorkerRoute =
  /** through the Service IP: the steady state */
  | 'service'
  /** straight to a live master: the boot script's fallback, fine until the Service IP answers */
  | 'master'
  /** to a master that is not up, to an unknown address, or nowhere */
  | 'broken';

export interface UpdaterHealth {
  ok: boolean;
  /** The updater's slice equals the live apiservers. */
  mirrored: boolean;
  /** Live apiservers the Service does not send to yet, and addresses it sends to that are not live. */
  missing: string[];
  stale: string[];
  /** Masters whose apiserver is not behind the Service IP. */
  outOfRotation: string[];
  workers: { node: string; route: WorkerRoute; address: string | undefined }[];
}

export function updaterHealth(i: UpdaterHealthInput): UpdaterHealth {
  const live = new Set(i.liveApiservers);
  const routed = new Set(i.serviceSlice);
  const missing = [...live].filter((a) => !routed.has(a)).sort();
  const stale = [...routed].filter((a) => !live.has(a)).sort();
  const outOfRotation = i.masters.filter((m) => !live.has(m) || !routed.has(m));
  const workers = i.workers.map((w) => {
    const a = w.resolvesTo;
    const route: WorkerRoute =
      a === i.serviceIp && routed.size > 0 ? 'service' : a !== undefined && live.has(a) ? 'master' : 'broken';
    return { node: w.node, route, address: a };
  });
  const mirrored = missing.length === 0 && stale.length === 0;
  return {
    ok: mirrored && outOfRotation.length === 0 && workers.every((w) => w.route === 'service'),
    mirrored,
    missing,
    stale,
    outOfRotation,
    workers,
  };
}

/** The address the cluster's hosts block gives `endpoint` in a worker's /etc/hosts, if any. */
export function hostsBlockAddress(hosts: string, cluster: string, endpoint: string): string | undefined {
  const { begin, end } = hostsMarkers(cluster);
  let inBlock = false;
  for (const line of hosts.split('\n')) {
    if (line === begin) inBlock = true;
    else if (line === end) inBlock = false;
    else if (inBlock) {
      const [address, ...names] = line.trim().split(/\s+/);
      if (address && names.includes(endpoint)) return address;
    }
  }
  return undefined;
}
