import { Command } from 'commander';
import { notImplemented } from '../../core/errors.js';

/** A command whose capability a later issue fills in: visible in --help, exits 3 when run. */
export function pendingCommand(name: string, description: string, args = ''): Command {
  const cmd = new Command(name).description(`${description} (not implemented yet)`);
  if (args) cmd.arguments(args);
  cmd.allowUnknownOption(true).allowExcessArguments(true);
  cmd.action(() => {
    throw notImplemented(`kubeon ${name}`);
  });
  return cmd;
}
