import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function etcdCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('etcd', 'etcd member list, health, snapshot save and restore', '[name] [args...]');
}
