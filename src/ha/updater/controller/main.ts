import { hostname } from 'node:os';
import { LEADER_TIMING } from '../names.js';
import { Controller } from './controller.js';
import { inClusterConfig, KubeApi } from './kube.js';
import { lineLog } from './log.js';

/**
 * Entry point of the bundled controller (`node controller.js` in the updater pods). Configuration is
 * the pod's own: the in-cluster service env vars, the mounted service account, and POD_NAME from the
 * downward API as its identity in the Lease.
 */

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const env = process.env;
const log = lineLog((line) => process.stdout.write(line));
const identity = env.POD_NAME || hostname();
// KUBEON_UPDATER_SA_DIR exists for kubeon's tests, which run the bundle outside a pod.
const config = inClusterConfig(
  env,
  env.KUBEON_UPDATER_SA_DIR || SA_DIR,
  `kubeon-apiserver-updater/${identity}`,
);
const controller = new Controller({
  api: new KubeApi(config),
  identity,
  timing: LEADER_TIMING,
  log,
  resyncMs: 10_000,
  watchSeconds: 60,
});

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log('signal', { signal: sig });
    void controller.stop().then(() => process.exit(0));
  });
}
controller.start();
