import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function cpCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('cp', 'copy files or directories to selected nodes', '<target> <src> <dest>');
}
