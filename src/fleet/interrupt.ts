/**
 * Ctrl-C and SIGTERM for commands that work on nodes. The first signal aborts `signal`: fleet
 * steps given it stop their remote process groups and return, and the command unwinds through its
 * own `finally` blocks (fan-out clean-up, closing connections, which removes the remote temporary
 * directories). `release()` at the end of that unwinding exits with 128 + the signal number. A
 * second signal, or unwinding that takes longer than `graceMs`, exits at once: whatever is left
 * on the nodes is swept by the next command (see sweep.ts).
 */

export const INTERRUPT_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof INTERRUPT_EXIT;

export interface InterruptTrap {
  /** Aborted on the first SIGINT or SIGTERM; its reason is an Error naming the signal. */
  readonly signal: AbortSignal;
  /** Stops trapping; after a signal, exits the process with 130 (SIGINT) or 143 (SIGTERM). */
  release(): void;
}

export interface TrapOptions {
  /** Where to say what happens (stderr). */
  say?: (line: string) => void;
  /** Longest wait for the command to clean up after the first signal (default 20 s). */
  graceMs?: number;
  /** Process-like event source and exit, replaceable in tests. */
  proc?: Pick<NodeJS.Process, 'on' | 'off'>;
  exit?: (code: number) => void;
}

export function trapInterrupts(opts: TrapOptions = {}): InterruptTrap {
  const proc = opts.proc ?? process;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const say = opts.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const controller = new AbortController();
  let got: Signal | undefined;
  let timer: NodeJS.Timeout | undefined;
  let released = false;
  const handlers = new Map<Signal, () => void>();
  const stop = () => {
    for (const [sig, h] of handlers) proc.off(sig, h);
    handlers.clear();
    if (timer) clearTimeout(timer);
  };
  for (const sig of Object.keys(INTERRUPT_EXIT) as Signal[]) {
    const h = () => {
      if (got) {
        say(`kubeon: ${sig} again: exiting now; the next command on this cluster sweeps what is left`);
        stop();
        exit(INTERRUPT_EXIT[sig]);
        return;
      }
      got = sig;
      say(
        `kubeon: ${sig}: stopping the remote commands and removing temporary files (${sig} again to quit now)`,
      );
      controller.abort(new Error(`interrupted by ${sig}`));
      timer = setTimeout(() => {
        say('kubeon: clean-up did not finish in time; the next command on this cluster sweeps what is left');
        stop();
        exit(INTERRUPT_EXIT[sig]);
      }, opts.graceMs ?? 20_000);
      timer.unref();
    };
    handlers.set(sig, h);
    proc.on(sig, h);
  }
  return {
    signal: controller.signal,
    release() {
      if (released) return;
      released = true;
      stop();
      if (got) exit(INTERRUPT_EXIT[got]);
    },
  };
}

/** `work`, or a rejection with the signal's reason as soon as it aborts (the work is left to run). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = () => {};
  const stopped = new Promise<never>((_r, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, stopped]).finally(() => signal.removeEventListener('abort', onAbort));
}
