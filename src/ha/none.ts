import { raw, script, sh } from '../fleet/script.js';
import { existing, firstMaster, runEach } from '../phases/create/data.js';
import { hostsScript } from '../phases/create/node-setup.js';
import { HAPROXY_DIR, HAPROXY_MANIFEST } from '../render/haproxy.js';
import type { HaMode } from './mode.js';

/** One master: every node reaches the API at that master. Masters resolve the name to themselves. */
export const noneMode: HaMode = {
  id: 'none',
  finalResolve: (ctx, host) => (host.node.role === 'master' ? host.node.ip : firstMaster(ctx).node.ip),
  beforeWorkerJoin: [],
  afterWorkerJoin: [],
  mastersChanged: [
    {
      id: 'endpoint-refresh',
      title: 'point the existing nodes at the remaining master',
      nodes: existing,
      plan: (ctx, h) =>
        h
          ? [
              `${ctx.spec.controlPlane.endpoint} -> ${noneMode.finalResolve(ctx, h)}${h.node.role === 'worker' ? '; the local haproxy removed' : ''}`,
            ]
          : [],
      async run(ctx, hosts) {
        const pointed = await runEach(ctx, hosts, (h) => hostsScript(ctx, noneMode.finalResolve(ctx, h)));
        // A cluster down to one master needs no proxy: the worker's haproxy goes once nothing uses it.
        const workers = hosts.filter((h, i) => h.node.role === 'worker' && !pointed[i]!.error);
        const removed = await runEach(ctx, workers, () =>
          script(
            'remove the local haproxy',
            sh`rm -f -- ${HAPROXY_MANIFEST}`,
            sh`rm -rf -- ${HAPROXY_DIR}`,
            raw('echo "local haproxy removed"'),
          ),
        );
        const failed = new Map(removed.filter((r) => r.error).map((r) => [r.node, r]));
        return pointed.map((r) => failed.get(r.node) ?? r);
      },
    },
  ],
  files: () => [],
};
