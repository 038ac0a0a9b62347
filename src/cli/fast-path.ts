import { defaultHome } from '../cluster/store.js';
import { ExitCode } from '../core/errors.js';
import { KUBEON_VERSION } from '../core/version.js';
import { listClusters } from './actions/list.js';
import { makeCurrent } from './actions/use.js';
import { printVersion } from './actions/version.js';
import { type CommandContext, type GlobalOptions, makeContext } from './context.js';
import { reportFailure } from './failure.js';
import { helpPages as bundledHelp } from './help-pages.js';
import { prepareOutput } from './output.js';

/**
 * The commands run most often (help, version, list, use), answered without commander and the command
 * tree, whose loading would take most of their time (issue 14: start within 1.5x of a bare `node`).
 * Only plain command lines are taken: anything else (other flags, `--`, extra words, an unknown help
 * path...) returns undefined and goes to runCli, so what users see never depends on the path taken.
 * The commands themselves are the same functions the command tree calls (cli/actions).
 */

export type HelpPages = Record<string, string> | undefined;
type Io = { env: NodeJS.ProcessEnv; streams: CommandContext['streams'] };
type Action = (ctx: CommandContext, args: string[]) => Promise<void> | void;

const ACTIONS: Record<string, { args: number; run: Action }> = {
  version: { args: 0, run: printVersion },
  ver: { args: 0, run: printVersion },
  list: { args: 0, run: listClusters },
  ls: { args: 0, run: listClusters },
  use: { args: 1, run: (ctx, [name]) => makeCurrent(ctx, name!) },
};

const HELP_FLAGS = new Set(['--help', '-h']);
const FORMATS = new Set(['table', 'json', 'yaml']);
const isWord = (a: string) => !a.startsWith('-');

/**
 * The command path whose help `argv` asks for, in the forms `[PATH] --help|-h` and `help [NAME]`
 * (commander's help command reads one name only).
 */
function helpPath(argv: readonly string[]): string | undefined {
  const last = argv[argv.length - 1];
  if (last !== undefined && HELP_FLAGS.has(last)) {
    const path = argv.slice(0, -1);
    return path.every(isWord) ? path.join(' ') : undefined;
  }
  if (argv[0] === 'help' && argv.length <= 2 && argv.every(isWord)) return argv.slice(1).join(' ');
  return undefined;
}

/** `argv` as words and the global options a fast command accepts (--home, -o); else undefined. */
function plainArgs(argv: readonly string[]): { words: string[]; globals: GlobalOptions } | undefined {
  const words: string[] = [];
  const globals: GlobalOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (isWord(arg)) {
      words.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = flag === '--home' ? 'home' : flag === '-o' || flag === '--output' ? 'output' : undefined;
    if (key === undefined || globals[key] !== undefined) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || !isWord(value)) return undefined;
    if (key === 'output' && !FORMATS.has(value)) return undefined;
    globals[key] = value;
  }
  return { words, globals };
}

/** Runs `argv` when it is one of the plain forms above and returns its exit code; else undefined. */
export async function fastPath(
  argv: readonly string[],
  io: Io,
  helpPages: () => HelpPages = bundledHelp,
): Promise<number | undefined> {
  const help = helpPath(argv);
  if (help !== undefined) {
    const page = helpPages()?.[help];
    if (page === undefined) return undefined;
    io.streams.stdout.write(page);
    return ExitCode.ok;
  }
  if (argv.length === 1 && argv[0] === '--version') {
    io.streams.stdout.write(`${KUBEON_VERSION}\n`);
    return ExitCode.ok;
  }
  const plain = plainArgs(argv);
  const action = plain && Object.hasOwn(ACTIONS, plain.words[0] ?? '') ? ACTIONS[plain.words[0]!] : undefined;
  if (!plain || !action || plain.words.length !== 1 + action.args) return undefined;
  try {
    await prepareOutput(plain.globals.output);
    const ctx = makeContext(plain.globals, { ...io, argv, defaultHome: defaultHome(io.env) });
    await action.run(ctx, plain.words.slice(1));
    return ExitCode.ok;
  } catch (err) {
    // --debug takes the full path, whose stack trace this one could not match.
    return reportFailure(err, io.streams.stderr, false);
  }
}
