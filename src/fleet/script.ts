import { randomBytes } from 'node:crypto';
import { shq } from '../core/quote.js';

/**
 * A shell script to run on nodes. `purpose` is what logs and errors show; the text itself is never
 * logged, because a caller may have placed secrets in it.
 */
export interface Script {
  purpose: string;
  text: string;
}

/** A value already rendered as shell (from `sh` or `raw`), so it is not quoted a second time. */
export class ShellFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Interpolated = string | number | ShellFragment | readonly (string | number)[];

function render(value: Interpolated): string {
  if (value instanceof ShellFragment) return value.text;
  if (Array.isArray(value)) return value.map((v) => shq(v as string | number)).join(' ');
  return shq(value as string | number);
}

/**
 * Template tag for shell text: every interpolated value goes through `shq` (arrays become quoted
 * words), so a script can only be assembled from literal template text plus quoted inputs.
 */
export function sh(strings: TemplateStringsArray, ...values: Interpolated[]): ShellFragment {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new ShellFragment(out);
}

/**
 * Marks text that is shell by intent, e.g. the command line a user typed for `kubeon exec`.
 * Every use is a deliberate decision to run the caller's shell text as-is.
 */
export function raw(text: string): ShellFragment {
  return new ShellFragment(text);
}

export function script(purpose: string, ...lines: ShellFragment[]): Script {
  // stdin is closed first: when sudo needs no password, the password line we sent for it would
  // otherwise be readable by the script's commands.
  const body = lines.map((l) => l.text).join('\n');
  return { purpose, text: `exec </dev/null\n${body}\n` };
}

/**
 * Where an uploaded script lives on the node: a sequence number and random hex, never the command's text,
 * which `ps` on the node would show to every user (an exec'd command line may carry a password).
 */
export function scriptPath(dir: string, seq: number): string {
  return `${dir}/${seq}-${randomBytes(4).toString('hex')}.sh`;
}

/** Seconds for coreutils `timeout`: whole seconds, at least 1. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Grace between TERM and KILL when a step overruns its timeout. */
export const KILL_GRACE_S = 5;

/**
 * The command line that runs an uploaded script. `timeout` makes itself a process-group leader and
 * signals the whole group on expiry, so children of the script die with it, not just the channel.
 * With sudo, `-S` reads the password from stdin (never argv) and `-p ''` keeps the prompt out of
 * stderr; `-n` fails at once instead of waiting when there is no password to give.
 */
export function runCommandLine(
  scriptPath: string,
  opts: { sudo: boolean; sudoPassword: boolean; timeoutMs: number },
): string {
  const sudo = opts.sudo ? (opts.sudoPassword ? "sudo -S -p '' " : 'sudo -n ') : '';
  // The shell records its PID and becomes sudo or timeout: signalling that PID reaches the group.
  return `printf '%s\\n' "$$" > ${shq(pidPath(scriptPath))} && exec ${sudo}timeout -k ${KILL_GRACE_S} ${seconds(opts.timeoutMs)} bash -euo pipefail ${shq(scriptPath)}`;
}

/** Where the run of a script records the PID that leads its process group. */
export function pidPath(scriptPath: string): string {
  return `${scriptPath}.pid`;
}

/**
 * Ends a running script's process group: TERM to the recorded PID, which timeout(1) passes to its
 * whole group (sudo relays it to timeout first); timeout sends KILL after its grace.
 */
export function renderStop(scriptPath: string): string {
  // The interrupt can come just after the channel opened, before the shell wrote its PID.
  const pid = pidPath(scriptPath);
  return sh`for i in 1 2 3 4 5 6 7 8 9 10; do [ -s ${pid} ] && break; sleep 0.1; done; kill -TERM "$(cat ${pid})" 2>/dev/null || true`
    .text;
}

/** Renders `kubeon exec` arguments: one argument is a shell command line, several are an exact argv. */
export function userCommand(args: readonly string[]): ShellFragment {
  if (args.length === 1) return raw(args[0]!);
  return sh`${args}`;
}
