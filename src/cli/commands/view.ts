import { Command } from 'commander';
import { exportSpec } from '../../cluster/export.js';
import { redactSpec } from '../../cluster/redact.js';
import type { ContextFactory } from '../context.js';
import { clusterOrCurrent } from '../current.js';
import { viewArtifactCommands } from './view-artifacts.js';

export function viewCommand(makeCtx: ContextFactory): Command {
  const view = new Command('view').alias('v').description('show versions, components, specs and schemas');
  view
    .command('config')
    .alias('conf')
    .description('print the stored cluster spec, secrets redacted')
    .argument('[name]', 'cluster name (default: the current cluster)')
    .option('--export', 'print a cluster.yaml that create -f accepts: secrets become passwordFrom: env:VAR')
    .action(async (nameArg: string | undefined, opts: { export?: boolean }, command: Command) => {
      const ctx = makeCtx(command);
      const name = await clusterOrCurrent(ctx, nameArg);
      const stored = await ctx.store.readSpec(name);
      const { default: YAML } = await import('yaml');
      if (opts.export) {
        const { spec, variables } = exportSpec(stored);
        for (const v of variables) ctx.out.info(`set ${v.name} before kubeon create -f (${v.field})`);
        if (ctx.out.format === 'json') ctx.out.result(spec, [], []);
        else
          ctx.out.text(
            `# kubeon cluster spec exported from "${name}"; kubeon create -f FILE accepts it\n${YAML.stringify(spec).trimEnd()}`,
          );
        return;
      }
      const spec = redactSpec(stored);
      if (ctx.out.format === 'json') ctx.out.result(spec, [], []);
      else ctx.out.text(YAML.stringify(spec).trimEnd());
    });
  view
    .command('schema')
    .description('print the JSON Schema of cluster.yaml (for editors)')
    .action(async (_opts: unknown, command: Command) => {
      const { clusterJsonSchema } = await import('../../cluster/spec.js');
      makeCtx(command).out.text(JSON.stringify(clusterJsonSchema(), null, 2));
    });
  for (const sub of viewArtifactCommands(makeCtx)) view.addCommand(sub);
  return view;
}
