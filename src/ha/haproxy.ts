import type { Host } from '../cluster/host.js';
import { raw, script, sh } from '../fleet/script.js';
import { type CreateContext, type CreateData, renderInput, runEach, workers } from '../phases/create/data.js';
import type { Phase, RenderedFile } from '../phases/phase.js';
import { putFiles } from '../render/files.js';
import {
  HAPROXY_CONFIG,
  HAPROXY_HEALTH_PORT,
  HAPROXY_MANIFEST,
  haproxyConfig,
  haproxyManifest,
} from '../render/haproxy.js';
import { hostsBlockScript } from '../render/hosts.js';
import type { HaMode } from './mode.js';
import { onExisting } from './refresh.js';

/**
 * haproxy mode (default with more than one master): a static pod of the official haproxy image on
 * every worker, listening on 127.0.0.1 with the masters as backends. A worker joins through a live
 * master, and its hosts block moves to 127.0.0.1 once its haproxy answers.
 */

const LOCAL = '127.0.0.1';

function files(ctx: CreateContext, host: Host): RenderedFile[] {
  if (host.node.role !== 'worker') return [];
  const input = renderInput(ctx, host);
  return [
    { path: HAPROXY_CONFIG, mode: 0o644, content: haproxyConfig(input) },
    { path: HAPROXY_MANIFEST, mode: 0o600, content: haproxyManifest(input) },
  ];
}

/** Waits for the local haproxy's health endpoint and for an API server answering behind it. */
function waitScript(ctx: CreateContext) {
  return script(
    'wait for the local haproxy',
    sh`health=${`http://${LOCAL}:${HAPROXY_HEALTH_PORT}/healthz`} api=${`https://${LOCAL}:${ctx.spec.controlPlane.port}/readyz`}`,
    raw('for _ in $(seq 1 120); do'),
    raw('  if curl -fsS -o /dev/null "$health" && curl -ksS -o /dev/null "$api"; then exit 0; fi'),
    raw('  sleep 1'),
    raw('done'),
    raw('echo "the local haproxy did not answer on 127.0.0.1 within 120 s" >&2'),
    raw('exit 1'),
  );
}

async function switchToLocal(ctx: CreateContext, hosts: Host[]) {
  const waited = await runEach(ctx, hosts, () => waitScript(ctx), 180_000);
  const ready = hosts.filter((_, i) => !waited[i]!.error);
  const block = hostsBlockScript(ctx.spec.name, [{ ip: LOCAL, names: [ctx.spec.controlPlane.endpoint] }]);
  const switched = await runEach(ctx, ready, () => block);
  return [...waited.filter((r) => r.error), ...switched];
}

const placePhase: Phase<CreateData> = {
  id: 'haproxy',
  title: 'place the haproxy static pod on workers',
  nodes: workers,
  plan: (_ctx, h) => (h ? [`write ${HAPROXY_CONFIG} and ${HAPROXY_MANIFEST} (backends: the masters)`] : []),
  files,
  run: (ctx, hosts) =>
    runEach(ctx, hosts, (h) => script('place the haproxy static pod', ...putFiles(files(ctx, h)))),
};

const switchPhase: Phase<CreateData> = {
  id: 'haproxy-switch',
  title: 'point workers at their local haproxy',
  nodes: workers,
  plan: (ctx, h) =>
    h ? [`wait for haproxy on ${LOCAL}, then resolve ${ctx.spec.controlPlane.endpoint} to ${LOCAL}`] : [],
  run: switchToLocal,
};

export const haproxyMode: HaMode = {
  id: 'haproxy',
  finalResolve: (_ctx, host) => (host.node.role === 'master' ? host.node.ip : LOCAL),
  afterInit: [],
  beforeWorkerJoin: [placePhase],
  afterWorkerJoin: [switchPhase],
  // A new master list is a new config (the kubelet restarts the pod on its hash); from one master,
  // this installs the mode: the pods, then the switch to 127.0.0.1 once they answer.
  mastersChanged: [
    onExisting(placePhase, 'haproxy-refresh'),
    onExisting(switchPhase, 'haproxy-refresh-switch'),
  ],
  files,
};
