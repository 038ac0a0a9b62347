import { readSummary } from '../../cluster/summary.js';
import { formatError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';

/** `kubeon list`, run by the command tree (commands/list.ts) and by the fast path alike. */
export interface ClusterRow {
  name: string;
  version: string;
  masters: number;
  workers: number;
  haMode: string;
  status: string;
  current: boolean;
}

const BROKEN = { version: '-', masters: 0, workers: 0, haMode: '-', status: 'broken' };

export async function listClusters(ctx: CommandContext): Promise<void> {
  const current = await ctx.store.current();
  const rows: ClusterRow[] = [];
  for (const name of await ctx.store.list()) {
    try {
      rows.push({ name, ...(await readSummary(ctx.store, name)), current: name === current });
    } catch (err) {
      // One damaged cluster must not hide the others; its row says so and the warning says why.
      ctx.out.warn(formatError(err).replace(/^error: /, ''));
      rows.push({ ...BROKEN, name, current: name === current });
    }
  }
  ctx.out.result(rows, rows, [
    { header: 'CURRENT', value: (r) => (r.current ? '*' : '') },
    { header: 'NAME', value: (r) => r.name },
    { header: 'VERSION', value: (r) => r.version },
    { header: 'MASTERS', value: (r) => String(r.masters) },
    { header: 'WORKERS', value: (r) => String(r.workers) },
    { header: 'HA', value: (r) => r.haMode },
    { header: 'STATUS', value: (r) => r.status },
  ]);
}
