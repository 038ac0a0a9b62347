import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { validateClusterName } from '../../cluster/name.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { badInput } from '../../core/errors.js';
import type { ContextFactory } from '../context.js';

interface InitOptions {
  masters: string;
  workers: string;
  name: string;
  force?: boolean;
}

function count(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw badInput(`${flag} "${text}" is not a number from ${min} to ${max}`, `e.g. ${flag} 3`);
  return Number(text);
}

export function configCommand(makeCtx: ContextFactory): Command {
  const config = new Command('config').description('write a cluster.yaml to start from');
  config
    .command('init')
    .description(
      'write a commented cluster.yaml (and cluster.schema.json beside it, for editors); then edit it and run kubeon create -f cluster.yaml',
    )
    .argument('[file]', 'where to write it ("-" for stdout)', 'cluster.yaml')
    .option('--masters <n>', 'number of masters', '3')
    .option('--workers <n>', 'number of workers', '2')
    .option('--name <name>', 'cluster name', 'demo')
    .option('--force', 'overwrite an existing file')
    .action(async (file: string, opts: InitOptions, command: Command) => {
      const ctx = makeCtx(command);
      const masters = count(opts.masters, '--masters', 1, 99);
      const workers = count(opts.workers, '--workers', 0, 150);
      const { minorsOf } = await import('../../artifacts/catalog.js');
      const newest = minorsOf().at(-1)!.minor;
      const { clusterTemplate } = await import('../../cluster/spec-template.js');
      const text = clusterTemplate({
        name: validateClusterName(opts.name),
        version: `v${newest}.1`,
        masters,
        workers,
        schemaPath: 'cluster.schema.json',
      });
      if (file === '-') {
        ctx.out.text(text.trimEnd());
        return;
      }
      if (existsSync(file) && !opts.force)
        throw badInput(`${file} already exists`, 'give another file name, or --force to overwrite it');
      await writeFileAtomic(file, text, 0o600);
      const { clusterJsonSchema } = await import('../../cluster/spec.js');
      await writeFileAtomic(
        join(dirname(file), 'cluster.schema.json'),
        `${JSON.stringify(clusterJsonSchema(), null, 2)}\n`,
        0o644,
      );
      ctx.out.info(`wrote ${file}: edit the addresses, then run kubeon create -f ${file}`);
    });
  return config;
}
