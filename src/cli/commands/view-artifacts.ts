import type { Command } from 'commander';
import type { ContextFactory } from '../context.js';
import { pendingCommand } from './not-implemented.js';

/** `view support` and `view component`: filled in by the artifacts catalog. */
export function viewArtifactCommands(_makeCtx: ContextFactory): Command[] {
  return [
    pendingCommand('support', 'list supported Kubernetes minors and their latest patches'),
    pendingCommand(
      'component',
      'print every component version and URL for a Kubernetes version',
      '<version>',
    ),
  ];
}
