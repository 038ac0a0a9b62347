import { Writable } from 'node:stream';
import { Command } from 'commander';
import { downloadCommand } from '../../src/cli/commands/download.js';
import { viewArtifactCommands } from '../../src/cli/commands/view-artifacts.js';
import { type GlobalOptions, makeContext } from '../../src/cli/context.js';
import { exitCodeOf, formatError } from '../../src/core/errors.js';

/**
 * Runs kubeon's download and view commands in-process with captured streams, the way main() would,
 * without loading the rest of the command tree.
 */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): Writable & { text: string; isTTY?: boolean } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY?: boolean };
  w.text = '';
  return w;
}

export async function runKubeon(argv: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const stdout = sink();
  const stderr = sink();
  const program = new Command('kubeon')
    .option('--home <dir>')
    .option('-o, --output <format>')
    .option('--debug')
    .exitOverride();
  const factory = (cmd: Command) =>
    makeContext(cmd.optsWithGlobals<GlobalOptions>(), {
      env,
      streams: { stdout, stderr, stdin: process.stdin },
      argv,
      defaultHome: env.KUBEON_HOME ?? '/nonexistent',
    });
  const view = new Command('view');
  for (const c of viewArtifactCommands(factory)) view.addCommand(c);
  program.addCommand(view);
  program.addCommand(downloadCommand(factory));
  const apply = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
    for (const s of c.commands) apply(s);
  };
  apply(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, stdout: stdout.text, stderr: stderr.text };
  } catch (err) {
    stderr.write(`${formatError(err)}\n`);
    return { code: exitCodeOf(err), stdout: stdout.text, stderr: stderr.text };
  }
}
