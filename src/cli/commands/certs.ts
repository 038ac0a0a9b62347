import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function certsCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand('certs', 'show certificate expiry; renew certificates', '<name> [action]');
}
