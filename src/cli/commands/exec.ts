import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function execCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('exec', 'run a command on selected nodes in parallel', '<target> [command...]');
}
