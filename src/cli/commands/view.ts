import { Command } from 'commander';
import YAML from 'yaml';
import { redactSpec } from '../../cluster/redact.js';
import { clusterJsonSchema } from '../../cluster/spec.js';
import type { ContextFactory } from '../context.js';
import { viewArtifactCommands } from './view-artifacts.js';

export function viewCommand(makeCtx: ContextFactory): Command {
  const view = new Command('view').alias('v').description('show versions, components, specs and schemas');
  view
    .command('config')
    .alias('conf')
    .description('print the stored cluster spec, secrets redacted')
    .argument('<name>', 'cluster name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const spec = redactSpec(await ctx.store.readSpec(name));
      if (ctx.out.format === 'json') ctx.out.result(spec, [], []);
      else ctx.out.text(YAML.stringify(spec).trimEnd());
    });
  view
    .command('schema')
    .description('print the JSON Schema of cluster.yaml (for editors)')
    .action((_opts: unknown, command: Command) => {
      makeCtx(command).out.text(JSON.stringify(clusterJsonSchema(), null, 2));
    });
  for (const sub of viewArtifactCommands(makeCtx)) view.addCommand(sub);
  return view;
}
