import { Command } from 'commander';
import { KUBEON_VERSION } from '../../core/version.js';
import type { ContextFactory } from '../context.js';

export function versionCommand(makeCtx: ContextFactory): Command {
  return new Command('version')
    .alias('ver')
    .description('print the kubeon version')
    .action((_opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const info = {
        kubeon: KUBEON_VERSION,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      };
      if (ctx.out.format === 'table')
        ctx.out.text(`kubeon ${info.kubeon} (node ${info.node}, ${info.platform})`);
      else ctx.out.result(info, [], []);
    });
}
