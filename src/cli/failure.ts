import { exitCodeOf, formatError } from '../core/errors.js';

/** Prints a failed command's error as its one line (and the stack with --debug); gives its exit code. */
export function reportFailure(err: unknown, stderr: NodeJS.WritableStream, debug: boolean): number {
  stderr.write(`${formatError(err)}\n`);
  if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return exitCodeOf(err);
}
