import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function infoCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('info', 'show certificates, nodes, pods, etcd members and HA health', '[name]');
}
