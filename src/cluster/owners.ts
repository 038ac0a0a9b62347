import { ipFamily, ipToBigInt } from './net.js';
import type { ClusterSpec } from './spec.js';
import type { Store } from './store.js';

export interface NodeOwner {
  ip: string;
  cluster: string;
}

/** One spelling per address, so 2001:DB8::1 and 2001:db8:0::1 are the same node. */
function addressKey(ip: string): string {
  return ipFamily(ip) === 0 ? ip : `${ipFamily(ip)}:${ipToBigInt(ip)}`;
}

/**
 * The nodes of `spec` that another cluster kubeon manages already lists. create (and add) refuse
 * them unless --force: installing would reset a node another cluster depends on.
 */
export async function nodeOwners(store: Store, spec: ClusterSpec): Promise<NodeOwner[]> {
  const wanted = new Map<string, string>();
  for (const n of [...spec.masters, ...spec.workers]) wanted.set(addressKey(n.ip), n.ip);
  const owners: NodeOwner[] = [];
  for (const name of await store.list()) {
    if (name === spec.name) continue;
    const other = await store.readSpec(name);
    for (const n of [...other.masters, ...other.workers]) {
      const ip = wanted.get(addressKey(n.ip));
      if (ip !== undefined) owners.push({ ip, cluster: name });
    }
  }
  return owners;
}
