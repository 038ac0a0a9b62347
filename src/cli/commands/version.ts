import { Command } from 'commander';
import { printVersion } from '../actions/version.js';
import type { ContextFactory } from '../context.js';

export function versionCommand(makeCtx: ContextFactory): Command {
  return new Command('version')
    .alias('ver')
    .description('print the kubeon version')
    .action((_opts: unknown, command: Command) => printVersion(makeCtx(command)));
}
