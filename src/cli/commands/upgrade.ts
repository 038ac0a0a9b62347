import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function upgradeCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('upgrade', 'upgrade the cluster one minor at a time', '[name] [version]');
}
