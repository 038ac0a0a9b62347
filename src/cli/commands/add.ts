import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function addCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('add', 'add masters and/or workers', '[name]');
}
