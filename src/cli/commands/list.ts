import { Command } from 'commander';
import { listClusters } from '../actions/list.js';
import type { ContextFactory } from '../context.js';

export function listCommand(makeCtx: ContextFactory): Command {
  return new Command('list')
    .alias('ls')
    .description('list the clusters this machine manages')
    .action((_opts: unknown, command: Command) => listClusters(makeCtx(command)));
}
