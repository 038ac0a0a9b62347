import { createInterface } from 'node:readline';
import { badInput, KubeonError } from '../core/errors.js';
import type { CommandContext } from './context.js';

type TtyIn = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => void };

/** Reads keystrokes in raw mode so the terminal never echoes the secret. */
function readHidden(stdin: TtyIn): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(() => resolve(value));
        if (ch === '\u0003') return done(() => reject(new KubeonError('interrupted', { exitCode: 1 })));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (then: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      then();
    };
    stdin.on('data', onData);
  });
}

function readLine(stdin: NodeJS.ReadableStream): Promise<string | undefined> {
  const rl = createInterface({ input: stdin, terminal: false });
  return new Promise((resolve) => {
    rl.once('line', (l) => {
      resolve(l);
      rl.close();
    });
    rl.once('close', () => resolve(undefined));
  });
}

/**
 * Reads a secret without echo from a terminal, or one line from a pipe (for scripts), so that
 * passwords never have to be on the command line.
 */
export async function askSecret(ctx: CommandContext, prompt: string): Promise<string> {
  const stdin = ctx.streams.stdin as TtyIn;
  let value: string | undefined;
  if (stdin.isTTY) {
    ctx.streams.stderr.write(prompt);
    value = await readHidden(stdin);
    ctx.streams.stderr.write('\n');
  } else {
    value = await readLine(stdin);
  }
  if (!value)
    throw badInput('no password was entered', 'type it at the prompt, or pipe it on stdin with --ask-pass');
  return value;
}

/** Asks a question on stderr and reads one line of answer (visible). */
export async function askLine(ctx: CommandContext, prompt: string): Promise<string> {
  ctx.streams.stderr.write(prompt);
  return ((await readLine(ctx.streams.stdin)) ?? '').trim();
}
