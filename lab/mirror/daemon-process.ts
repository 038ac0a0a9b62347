/** What the two detached lab daemons (mirror, registry) share: how they get their config and stop. */
import { readFile, rm } from 'node:fs/promises';

/** The config arrives over the IPC channel, not argv, so credentials never show in a process list. */
export function receiveConfig<T>(): Promise<T> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as T)));
}

/**
 * On SIGTERM/SIGINT: close, then remove the PID and state files only if they still describe this
 * process (a newer daemon may own them by now), and exit.
 */
export function stopOnSignals(paths: { pid: string; state: string }, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await close();
    const pid = await readFile(paths.pid, 'utf8').catch(() => '');
    if (pid.trim() === String(process.pid)) {
      await Promise.all([rm(paths.pid, { force: true }), rm(paths.state, { force: true })]);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}
