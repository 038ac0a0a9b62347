import { readdir, stat, writeFile } from 'node:fs/promises';
import { type AddressPlan, hostNetns, machineIface, sealedNetns } from './layout.js';
import { must, run } from './proc.js';

/*
 * machine netns                  sealed netns klab.<id>                 host netns klab.<id>.<host>
 *  klab<slot> 10.X.0.1/16 ─veth─ up0 ─┐
 *                                     br0 10.X.0.254/16 ── <host> ─veth─ eth0 10.X.a.b/16, default via .254
 *                                     (unreachable default: nothing routes out of the lab)
 *
 * Every step is one `ip -b` batch: a process start costs about 9 ms here, so per-host commands
 * would dominate the start-up time of a few hundred hosts.
 */

export interface NetHost {
  name: string;
  ip: string;
}

export async function createNetwork(
  id: string,
  slot: number,
  plan: AddressPlan,
  hosts: NetHost[],
): Promise<void> {
  const iface = machineIface(slot);
  const machine = [
    `netns add ${sealedNetns(id)}`,
    ...hosts.map((h) => `netns add ${hostNetns(id, h.name)}`),
    `link add ${iface} type veth peer name up0 netns ${sealedNetns(id)}`,
    `addr add ${plan.gatewayIp}/16 dev ${iface}`,
    // A host re-created with its old address but a new MAC would otherwise be unreachable for about
    // 20 s, until an entry left from an earlier lab on this subnet expires.
    `neigh flush to ${plan.subnet}`,
  ];
  await must(['ip', '-b', '-'], { input: machine.join('\n') + '\n' });
  // Traffic from the lab must end at the machine, never be routed onwards (whatever the machine's
  // global ip_forward says), and IPv6 is not part of the lab.
  await writeFile(`/proc/sys/net/ipv4/conf/${iface}/forwarding`, '0');
  await writeFile(`/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`, '1').catch(() => {});

  const sealed = [
    'link set lo up',
    'link add br0 type bridge',
    `addr add ${plan.bridgeIp}/16 dev br0`,
    'link set br0 up',
    'link set up0 master br0',
    'link set up0 up',
    'route add unreachable default',
  ];
  for (const h of hosts) {
    sealed.push(`link add ${h.name} type veth peer name eth0 netns ${hostNetns(id, h.name)}`);
    sealed.push(`link set ${h.name} master br0 up`);
  }
  await must(['ip', '-n', sealedNetns(id), '-b', '-'], { input: sealed.join('\n') + '\n' });
  await must(['ip', 'link', 'set', iface, 'up']);
}

/** Commands that configure a host's own end, run inside its namespace. */
export function hostIpBatch(ip: string, plan: AddressPlan): string {
  return [
    'link set lo up',
    `addr add ${ip}/16 dev eth0`,
    'link set eth0 up',
    `route add default via ${plan.bridgeIp}`,
    '',
  ].join('\n');
}

/** The lab's namespace names that exist now (including leftovers of an interrupted `up`). */
export async function existingNetns(id: string): Promise<string[]> {
  const names = await readdir('/run/netns').catch(() => [] as string[]);
  const sealed = sealedNetns(id);
  return names.filter((n) => n === sealed || n.startsWith(`${sealed}.`));
}

export async function netnsInode(name: string): Promise<number | undefined> {
  const s = await stat(`/run/netns/${name}`).catch(() => undefined);
  // An unmounted leftover file has the inode of the tmpfs/ext4 file, not of an nsfs namespace.
  return s && s.dev !== 0 && s.size === 0 ? s.ino : undefined;
}

/**
 * Deletes the uplink (synchronously, so a quick re-create of the lab cannot race the kernel's
 * asynchronous namespace cleanup) and then every namespace of the lab.
 */
export async function deleteNetwork(id: string, slot: number | undefined): Promise<void> {
  const lines: string[] = [];
  if (slot !== undefined) lines.push(`link del ${machineIface(slot)}`);
  for (const n of await existingNetns(id)) lines.push(`netns del ${n}`);
  if (lines.length === 0) return;
  // -force: keep going past an already-missing link or namespace.
  await run(['ip', '-force', '-b', '-'], { input: lines.join('\n') + '\n' });
}

export async function ifaceExists(name: string): Promise<boolean> {
  return stat(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

/** `down`/`up` faults cut or restore the host's link at the bridge: the host keeps running, unreachable. */
export async function setLink(id: string, host: string, up: boolean): Promise<void> {
  await must(['ip', '-n', sealedNetns(id), 'link', 'set', host, up ? 'up' : 'down']);
}
