import { existsSync } from 'node:fs';
import { Command } from 'commander';
import type { ContextFactory } from '../context.js';

export function useCommand(makeCtx: ContextFactory): Command {
  return new Command('use')
    .description('make a cluster the default, and its context current in ~/.kube/config')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
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
      ctx.out.info(
        `"${name}" is now the current cluster; kubectl context ${contextName(name)} set in ${target}`,
      );
    });
}
