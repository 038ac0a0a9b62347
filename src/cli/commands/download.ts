import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

export function downloadCommand(_makeCtx: ContextFactory): Command {
  return pendingCommand(
    'download',
    'pre-fetch and verify the artifacts of a Kubernetes version',
    '[version]',
  );
}
