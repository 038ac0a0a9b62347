import { Command } from 'commander';
import type { ClusterSpec } from '../../cluster/spec.js';
import type { ClusterState } from '../../cluster/state.js';
import { formatError } from '../../core/errors.js';
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

const BROKEN = { version: '-', masters: 0, workers: 0, haMode: '-', status: 'broken' };

export function listCommand(makeCtx: ContextFactory): Command {
  return new Command('list')
    .alias('ls')
    .description('list the clusters this machine manages')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const current = await ctx.store.current();
      const rows: ClusterRow[] = [];
      for (const name of await ctx.store.list()) {
        let spec: ClusterSpec;
        let state: ClusterState | undefined;
        try {
          spec = await ctx.store.readSpec(name);
          state = await ctx.store.readState(name);
        } catch (err) {
          // One damaged cluster must not hide the others; its row says so and the warning says why.
          ctx.out.warn(formatError(err).replace(/^error: /, ''));
          rows.push({ ...BROKEN, name, current: name === current });
          continue;
        }
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
