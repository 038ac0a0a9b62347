/**
 * The detached process behind `lab mirror registry start`: runs docker-registry (and the token
 * server), fills it with the lab images, and keeps both alive until SIGTERM.
 */
import { mkdir } from 'node:fs/promises';
import { receiveConfig, stopOnSignals } from './daemon-process.js';
import { pushImages } from './images.js';
import { startRegistry } from './registry.js';
import { type RegistryDaemonConfig, type RegistryState, registryPaths, writeAtomic } from './state.js';

async function main(): Promise<void> {
  const config = await receiveConfig<RegistryDaemonConfig>();
  const paths = registryPaths(config.stateDir);
  await mkdir(paths.data, { recursive: true });
  const [user, password] = config.user ? config.user.split(/:(.*)/s) : [];
  const registry = await startRegistry({
    dir: paths.data,
    host: config.host,
    port: config.port,
    ...(user ? { auth: { users: { [user]: password ?? '' }, anonymousPull: config.anonymousPull } } : {}),
  });
  stopOnSignals(paths, () => registry.close());

  const pushed = await pushImages(registry.url, config.images, {
    ...(user ? { username: user, password: password ?? '' } : {}),
  }).catch(async (err: unknown) => {
    // docker-registry is our child: never leave it behind when we give up.
    await registry.close();
    throw err;
  });
  const state: RegistryState = {
    url: registry.url,
    host: registry.host,
    pid: process.pid,
    registryPid: registry.pid,
    ...(registry.tokenUrl ? { tokenUrl: registry.tokenUrl, service: registry.service } : {}),
    images: pushed.map((p) => ({
      source: p.source,
      ref: `${registry.host}/${p.repository}:${p.tag}`,
      digest: p.digest,
    })),
    startedAt: new Date().toISOString(),
  };
  await writeAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  await writeAtomic(paths.pid, `${process.pid}\n`);
  process.send?.({ ready: state });
  process.disconnect?.();
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kubeon lab registry: ${message}\n`);
  if (process.send) process.send({ error: message }, () => process.exit(1));
  else process.exit(1);
});
