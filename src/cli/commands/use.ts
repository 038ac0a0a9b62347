import { Command } from 'commander';
import { makeCurrent } from '../actions/use.js';
import type { ContextFactory } from '../context.js';

export function useCommand(makeCtx: ContextFactory): Command {
  return new Command('use')
    .description('make a cluster the default, and its context current in ~/.kube/config')
    .argument('<name>', 'cluster name')
    .action((name: string, _opts: unknown, command: Command) => makeCurrent(makeCtx(command), name));
}
