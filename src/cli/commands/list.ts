import { Command } from 'commander';
import type { ContextFactory } from '../context.js';

export interface ClusterRow {
  name: string;
  version: string;
  masters: number;
  workers: number;
  haMode: string;
  status: string;
  current: boolean;
}

export function listCommand(makeCtx: ContextFactory): Command {
  return new Command('list')
    .alias('ls')
    .description('list the clusters this machine manages')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const current = await ctx.store.current();
      const rows: ClusterRow[] = [];
      for (const name of await ctx.store.list()) {
        const spec = await ctx.store.readSpec(name);
        const state = await ctx.store.readState(name);
        rows.push({
          name,
          version: state?.kubernetesVersion ?? spec.version,
          masters: spec.masters.length,
          workers: spec.workers.length,
          haMode: spec.controlPlane.mode,
          status: state?.status ?? 'defined',
          current: name === current,
        });
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
    });
}
