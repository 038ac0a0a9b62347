/**
 * One error type for everything kubeon reports to a user. The message names the bad value, the hint
 * says what to do next; the CLI prints both on one line and exits with `exitCode`.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  locked: 4,
  /** Stopped by SIGINT (128 + 2), as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// The bundle's start file and its lazily loaded modules each carry a copy of this module
// (scripts/build.mjs), so the one reporting an error may not be the one whose class made it: the
// report knows a KubeonError by this mark.
const MARK = Symbol.for('kubeon.KubeonError');

export class KubeonError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly [MARK] = true;

  constructor(message: string, opts: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KubeonError';
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
  }
}

/** Bad input from flags or files: exit 2, nothing has been contacted. */
export function badInput(message: string, hint?: string): KubeonError {
  return new KubeonError(message, { exitCode: ExitCode.badInput, ...(hint ? { hint } : {}) });
}

function isKubeonError(err: unknown): err is KubeonError {
  return typeof err === 'object' && err !== null && MARK in err;
}

/** Renders an error as the single line the user sees (no stack). */
export function formatError(err: unknown): string {
  if (isKubeonError(err)) {
    return err.hint ? `error: ${err.message} (fix: ${err.hint})` : `error: ${err.message}`;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return `error: ${msg.split('\n')[0]}`;
}

export function exitCodeOf(err: unknown): ExitCode {
  return isKubeonError(err) ? err.exitCode : ExitCode.failed;
}
