/**
 * The detached process behind `lab mirror registry start`: runs docker-registry (and the token
 * server), fills it with the lab images, and keeps both alive until SIGTERM.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { pushImages } from './images.js';
import { startRegistry } from './registry.js';
import { type RegistryDaemonConfig, type RegistryState, registryPaths, writeAtomic } from './state.js';

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RegistryDaemonConfig;
  const paths = registryPaths(config.stateDir);
  await mkdir(paths.data, { recursive: true });
  const [user, password] = config.user ? config.user.split(/:(.*)/s) : [];
  const registry = await startRegistry({
    dir: paths.data,
    host: config.host,
    port: config.port,
    ...(user ? { auth: { users: { [user]: password ?? '' }, anonymousPull: config.anonymousPull } } : {}),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await registry.close();
    const pid = await readFile(paths.pid, 'utf8').catch(() => '');
    if (pid.trim() === String(process.pid))
      await Promise.all([rm(paths.pid, { force: true }), rm(paths.state, { force: true })]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());

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
