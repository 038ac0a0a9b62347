import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Command } from 'commander';
import { contextName, mergeKubeconfig } from '../../cluster/kubeconfig-merge.js';
import { writeFileAtomic } from '../../core/atomic.js';
import type { ContextFactory } from '../context.js';

/** kubectl writes to the first file of $KUBECONFIG, else ~/.kube/config; so do we. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv): string {
  const first = env.KUBECONFIG?.split(delimiter).find(Boolean);
  return first ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

export function useCommand(makeCtx: ContextFactory): Command {
  return new Command('use')
    .description('make a cluster the default, and its context current in ~/.kube/config')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const paths = await ctx.store.requireCluster(name);
      await ctx.store.setCurrent(name);
      if (!existsSync(paths.kubeconfig)) {
        ctx.out.info(
          `"${name}" is now the current cluster (it has no kubeconfig yet, so ~/.kube/config is unchanged)`,
        );
        return;
      }
      const target = userKubeconfigPath(ctx.env);
      const existing = existsSync(target) ? await readFile(target, 'utf8') : undefined;
      const merged = mergeKubeconfig(existing, await readFile(paths.kubeconfig, 'utf8'), name, target);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFileAtomic(target, merged, 0o600);
      ctx.out.info(
        `"${name}" is now the current cluster; kubectl context ${contextName(name)} set in ${target}`,
      );
    });
}
