import { defaultHome } from '../cluster/store.js';
import { ExitCode } from '../core/errors.js';
import { type CommandContext, type GlobalOptions, makeContext } from './context.js';
import { reportFailure } from './failure.js';
import { prepareOutput } from './output.js';
import { buildProgram, CommanderError } from './program.js';

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * Runs one kubeon invocation and returns its exit code. Errors become one line on stderr (plus the
 * stack with --debug); nothing here calls process.exit, so tests can run it in-process.
 */
export async function runCli(
  argv: readonly string[],
  io: { env: NodeJS.ProcessEnv; streams: CommandContext['streams'] },
): Promise<number> {
  const debug = argv.includes('--debug');
  const program = buildProgram(
    (globals) => makeContext(globals, { ...io, argv, defaultHome: defaultHome(io.env) }),
    {
      writeOut: (s) => io.streams.stdout.write(s),
      writeErr: (s) => io.streams.stderr.write(s),
    },
  );
  program.hook('preAction', (_root, command) =>
    prepareOutput(command.optsWithGlobals<GlobalOptions>().output),
  );
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (unknown option, missing argument...).
      return HELP_CODES.has(err.code) ? ExitCode.ok : ExitCode.badInput;
    }
    return reportFailure(err, io.streams.stderr, debug);
  }
}
