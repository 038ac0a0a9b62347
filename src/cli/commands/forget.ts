import { Command } from 'commander';
import { badInput } from '../../core/errors.js';
import type { CommandContext, ContextFactory } from '../context.js';

/** Whether any step has changed a node: then forgetting loses the CA keys of a live cluster. */
async function installedSomething(ctx: CommandContext, name: string): Promise<boolean> {
  const state = await ctx.store.readState(name);
  return Boolean(state?.journal.some((e) => e.status === 'done'));
}

async function confirm(ctx: CommandContext, name: string): Promise<void> {
  if (ctx.yes) return;
  const hint = `the nodes keep running but this machine loses its CA keys and kubeconfig; to proceed, give -y (kubeon -y forget ${name})`;
  if (!ctx.streams.stdin.isTTY) throw badInput(`cluster "${name}" has installed software on its nodes`, hint);
  ctx.streams.stderr.write(
    `cluster "${name}" has installed software on its nodes; forgetting it keeps them running and removes its CA keys and kubeconfig here.\ntype the cluster name to confirm: `,
  );
  const answer = await new Promise<string>((resolve) => {
    ctx.streams.stdin.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  if (answer !== name) throw badInput(`"${answer}" is not "${name}"; nothing was removed`, hint);
}

export function forgetCommand(makeCtx: ContextFactory): Command {
  return new Command('forget')
    .description(
      'remove a cluster from this machine only (its spec, state, keys, logs); nothing on the nodes changes',
    )
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      await ctx.store.requireCluster(name);
      const lock = await ctx.store.lock(name, ctx.commandLine);
      try {
        if (await installedSomething(ctx, name)) await confirm(ctx, name);
        await ctx.store.remove(name);
      } finally {
        lock.release();
      }
      ctx.out.info(`forgot cluster "${name}"; its nodes were not touched`);
    });
}
