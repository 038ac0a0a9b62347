import { existsSync } from 'node:fs';
import type { CommandContext } from '../context.js';

/** `kubeon use NAME`, run by the command tree (commands/use.ts) and by the fast path alike. */
export async function makeCurrent(ctx: CommandContext, name: string): Promise<void> {
  const paths = await ctx.store.requireCluster(name);
  if (!existsSync(paths.kubeconfig)) {
    await ctx.store.setCurrent(name);
    ctx.out.info(
      `"${name}" is now the current cluster (it has no kubeconfig yet, so ~/.kube/config is unchanged)`,
    );
    return;
  }
  const [{ useCluster }, { contextName }] = await Promise.all([
    import('../../cluster/kubeconfig-user.js'),
    import('../../cluster/kubeconfig-merge.js'),
  ]);
  const target = await useCluster(ctx.store, name, paths.kubeconfig, ctx.env);
  ctx.out.info(`"${name}" is now the current cluster; kubectl context ${contextName(name)} set in ${target}`);
}
