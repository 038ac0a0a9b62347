import type { Host } from '../cluster/host.js';
import { raw, script, sh } from '../fleet/script.js';
import { type CreateContext, existing, renderInput, runEach, workers } from '../phases/create/data.js';
import type { RenderedFile } from '../phases/phase.js';
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

const place = (ctx: CreateContext, hosts: Host[]) =>
  runEach(ctx, hosts, (h) => script('place the haproxy static pod', ...putFiles(files(ctx, h))));

async function switchToLocal(ctx: CreateContext, hosts: Host[]) {
  const waited = await runEach(ctx, hosts, () => waitScript(ctx), 180_000);
  const ready = hosts.filter((_, i) => !waited[i]!.error);
  const block = hostsBlockScript(ctx.spec.name, [{ ip: LOCAL, names: [ctx.spec.controlPlane.endpoint] }]);
  const switched = await runEach(ctx, ready, () => block);
  return [...waited.filter((r) => r.error), ...switched];
}

export const haproxyMode: HaMode = {
  id: 'haproxy',
  finalResolve: (_ctx, host) => (host.node.role === 'master' ? host.node.ip : LOCAL),
  beforeWorkerJoin: [
    {
      id: 'haproxy',
      title: 'place the haproxy static pod on workers',
      nodes: workers,
      plan: (_ctx, h) =>
        h ? [`write ${HAPROXY_CONFIG} and ${HAPROXY_MANIFEST} (backends: the masters)`] : [],
      files,
      run: place,
    },
  ],
  afterWorkerJoin: [
    {
      id: 'haproxy-switch',
      title: 'point workers at their local haproxy',
      nodes: workers,
      plan: (ctx, h) =>
        h ? [`wait for haproxy on ${LOCAL}, then resolve ${ctx.spec.controlPlane.endpoint} to ${LOCAL}`] : [],
      run: switchToLocal,
    },
  ],
  mastersChanged: [
    {
      id: 'haproxy-refresh',
      title: "rewrite the existing workers' haproxy for the new set of masters",
      nodes: (ctx) => existing(ctx).filter((h) => h.node.role === 'worker'),
      plan: (ctx, h) =>
        h
          ? [
              `rewrite ${HAPROXY_CONFIG} (backends: ${renderInput(ctx, h)
                .masters.map((m) => m.name)
                .join(
                  ', ',
                )}); the manifest's config hash restarts the pod; ${ctx.spec.controlPlane.endpoint} -> ${LOCAL}`,
            ]
          : [],
      files,
      async run(ctx, hosts) {
        const placed = await place(ctx, hosts);
        const switched = await switchToLocal(
          ctx,
          hosts.filter((_, i) => !placed[i]!.error),
        );
        return [...placed.filter((r) => r.error), ...switched];
      },
    },
  ],
  files,
};
