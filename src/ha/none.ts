import { raw, script, sh } from '../fleet/script.js';
import { type CreateData, existing, firstMaster, runEach, runOn } from '../phases/create/data.js';
import type { Phase } from '../phases/phase.js';
import { HAPROXY_DIR, HAPROXY_MANIFEST } from '../render/haproxy.js';
import { hostsBlockLines } from '../render/hosts.js';
import type { HaMode } from './mode.js';
import { bootRemoveLines } from './updater/boot.js';
import { UPDATER } from './updater/names.js';

/** One master: every node reaches the API at that master. Masters resolve the name to themselves. */

const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

/**
 * Down to one master: whatever mode ran before (haproxy pods, the updater's boot unit) leaves the
 * workers, which then resolve the endpoint to the remaining master. Removing what is absent is a no-op.
 */
const workersToMaster: Phase<CreateData> = {
  id: 'ha-none-workers',
  title: 'point workers at the only master',
  nodes: (ctx) => existing(ctx).filter((h) => h.node.role === 'worker'),
  plan: (ctx, h) =>
    h
      ? [
          `remove the local haproxy and the apiserver boot unit, resolve ${ctx.spec.controlPlane.endpoint} to ${firstMaster(ctx).node.ip}`,
        ]
      : [],
  run: (ctx, hosts) =>
    runEach(ctx, hosts, () =>
      script(
        'drop the HA mode and point at the only master',
        ...bootRemoveLines(ctx.spec.name),
        sh`rm -rf -- ${HAPROXY_MANIFEST} ${HAPROXY_DIR}`,
        raw('systemctl daemon-reload'),
        ...hostsBlockLines(ctx.spec.name, [
          { ip: firstMaster(ctx).node.ip, names: [ctx.spec.controlPlane.endpoint] },
        ]),
      ),
    ),
};

const updaterRemoved: Phase<CreateData> = {
  id: 'ha-none-updater',
  title: 'remove the apiserver updater, if any',
  plan: () => ['delete the apiserver-updater Deployment, Service and their objects (if present)'],
  async run(ctx) {
    const ns = UPDATER.namespace;
    await runOn(
      ctx,
      firstMaster(ctx),
      script(
        'remove the apiserver updater',
        sh`${raw(KUBECTL)} -n ${ns} delete --ignore-not-found deployment/${UPDATER.deployment} configmap/${UPDATER.configMap} service/${UPDATER.service} endpointslice.discovery.k8s.io/${UPDATER.slice} lease.coordination.k8s.io/${UPDATER.lease} serviceaccount/${UPDATER.serviceAccount}`,
      ),
    );
    return [];
  },
};

export const noneMode: HaMode = {
  id: 'none',
  finalResolve: (ctx, host) => (host.node.role === 'master' ? host.node.ip : firstMaster(ctx).node.ip),
  afterInit: [],
  beforeWorkerJoin: [],
  afterWorkerJoin: [],
  mastersChanged: [updaterRemoved, workersToMaster],
  files: () => [],
};
