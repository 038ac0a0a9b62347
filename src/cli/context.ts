import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { Store } from '../cluster/store.js';
import { badInput } from '../core/errors.js';
import type { SessionHost } from '../session/session.js';
import { createOutput, type Output, type OutputFormat, type Streams } from './output.js';
import { redactArgv } from './secret-flags.js';

/** What every command receives: no module-level state, so tests can run commands side by side. */
export interface CommandContext {
  store: Store;
  out: Output;
  env: NodeJS.ProcessEnv;
  streams: Streams & { stdin: NodeJS.ReadableStream & { isTTY?: boolean } };
  debug: boolean;
  yes: boolean;
  /** The whole command line, recorded in locks and logs (secrets redacted). */
  commandLine: string;
}

export interface GlobalOptions {
  home?: string;
  verbose?: number;
  debug?: boolean;
  output?: string;
  yes?: boolean;
}

const FORMATS = ['table', 'json', 'yaml'];

export function makeContext(
  globals: GlobalOptions,
  io: {
    env: NodeJS.ProcessEnv;
    streams: CommandContext['streams'];
    argv: readonly string[];
    defaultHome: string;
  },
): CommandContext {
  const home = globals.home ?? io.defaultHome;
  if (existsSync(home) && !statSync(home).isDirectory())
    throw badInput(`--home ${home} is not a directory`, 'point --home (or KUBEON_HOME) at a directory');
  const format = globals.output ?? 'table';
  if (!FORMATS.includes(format))
    throw badInput(`output format "${format}" is not supported`, 'use -o table, -o json or -o yaml');
  return {
    store: new Store(home),
    out: createOutput(format as OutputFormat, globals.verbose ?? 0, io.streams, io.env),
    env: io.env,
    streams: io.streams,
    debug: Boolean(globals.debug),
    yes: Boolean(globals.yes),
    commandLine: ['kubeon', ...redactArgv(io.argv)].join(' '),
  };
}

/** Commands receive the context through this, built from the root's global options. */
export type ContextFactory = (cmd: Command) => CommandContext;

/** The session's view of a command context (src/session/session.ts). */
export function sessionHost(ctx: CommandContext): SessionHost {
  return {
    store: ctx.store,
    env: ctx.env,
    commandLine: ctx.commandLine,
    warn: (m: string) => ctx.out.warn(m),
  };
}
