/**
 * The detached mirror process `lab mirror start` launches: serves until SIGTERM, and keeps its PID
 * and URLs in the state directory so `stop`, `status` and tests can find it.
 */
import { readFile } from 'node:fs/promises';
import { receiveConfig, stopOnSignals } from './daemon-process.js';
import { startMirror } from './server.js';
import { type DaemonConfig, type MirrorState, statePaths, writeAtomic } from './state.js';

async function main(): Promise<void> {
  const config = await receiveConfig<DaemonConfig>();
  const paths = statePaths(config.stateDir);
  const tls = config.tls
    ? {
        cert: await readFile(config.tls.certFile),
        key: await readFile(config.tls.keyFile),
        caFile: config.tls.caFile,
      }
    : undefined;
  const mirror = await startMirror({
    root: config.root,
    port: config.port,
    bind: config.bind,
    logFile: config.logFile,
    faults: config.faults,
    ...(tls ? { tls } : {}),
  });
  const state: MirrorState = {
    url: mirror.url,
    urls: mirror.urls,
    pid: process.pid,
    port: mirror.port,
    root: mirror.root,
    log: config.logFile,
    ...(mirror.caFile ? { caFile: mirror.caFile } : {}),
    startedAt: new Date().toISOString(),
  };
  await writeAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  await writeAtomic(paths.pid, `${process.pid}\n`);

  stopOnSignals(paths, () => mirror.close());

  process.send?.({ ready: state });
  process.disconnect?.();
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kubeon lab mirror: ${message}\n`);
  if (process.send) process.send({ error: message }, () => process.exit(1));
  else process.exit(1);
});
