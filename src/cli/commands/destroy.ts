import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function destroyCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('destroy', 'reset and clean every node, then forget the cluster', '<name>');
}
