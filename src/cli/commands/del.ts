import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function delCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('del', 'drain and remove nodes', '[target]');
}
