import { KubeonError } from '../core/errors.js';
import type { EtcdClient, EtcdEndpoint, MemberStatus } from './client.js';

/** What `kubeon etcd NAME health|status|defrag` and `kubeon info` show per member. */

export interface HealthRow {
  member: string;
  healthy: boolean;
  tookMs: number;
  error?: string;
}

export type StatusRow = { member: string } & (
  | { status: MemberStatus; error?: undefined }
  | { status?: undefined; error: string }
);

/** Every member asked at once; a member that cannot be reached is a row with its reason, not a failure. */
export function healthOfAll(client: EtcdClient, endpoints: readonly EtcdEndpoint[]): Promise<HealthRow[]> {
  return Promise.all(
    endpoints.map(async (ep) => {
      const h = await client.health(ep);
      return { member: ep.name, ...h };
    }),
  );
}

export function statusOfAll(client: EtcdClient, endpoints: readonly EtcdEndpoint[]): Promise<StatusRow[]> {
  return Promise.all(
    endpoints.map(async (ep): Promise<StatusRow> => {
      try {
        return { member: ep.name, status: await client.status(ep) };
      } catch (err) {
        return { member: ep.name, error: (err as Error).message };
      }
    }),
  );
}

export interface DefragRow {
  member: string;
  before: number;
  after: number;
}

/**
 * Defragments one member at a time, followers first and the leader last (a member blocks while it
 * defragments; doing the leader last costs one election at most, not several), and moves on only
 * when the member answers healthy again. Stops at the first member that fails, naming it.
 */
export async function defragAll(
  client: EtcdClient,
  endpoints: readonly EtcdEndpoint[],
  progress: (msg: string) => void,
): Promise<DefragRow[]> {
  const statuses = await statusOfAll(client, endpoints);
  const down = statuses.filter((s) => s.error !== undefined);
  if (down.length)
    throw new KubeonError(`cannot defragment: ${down.map((s) => `${s.member}: ${s.error}`).join('; ')}`, {
      hint: 'every member must answer before a defragmentation; see kubeon etcd NAME health',
    });
  const order = endpoints
    .map((ep, i) => ({ ep, status: statuses[i]!.status! }))
    .sort((a, b) => Number(a.status.isLeader) - Number(b.status.isLeader));
  const rows: DefragRow[] = [];
  for (const { ep, status } of order) {
    progress(`defragmenting ${ep.name}${status.isLeader ? ' (leader)' : ''}`);
    await client.defragment(ep);
    const health = await client.health(ep);
    if (!health.healthy)
      throw new KubeonError(`${ep.name} is not healthy after its defragmentation: ${health.error}`, {
        hint: `the members after ${ep.name} were left alone; check its etcd logs, then re-run`,
      });
    rows.push({ member: ep.name, before: status.dbSize, after: (await client.status(ep)).dbSize });
  }
  return rows;
}

/** 1536 -> "1.5 KiB": sizes as etcdctl's table prints them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
