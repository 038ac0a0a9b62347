import type { Host } from '../../cluster/host.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { raw, script, sh } from '../../fleet/script.js';
import {
  allMasters,
  type CreateContext,
  type CreateData,
  firstMaster,
  runEach,
  runOn,
  workers,
} from '../../phases/create/data.js';
import type { Phase, RenderedFile } from '../../phases/phase.js';
import { putFiles } from '../../render/files.js';
import { imageSources } from '../../render/inputs.js';
import type { HaMode } from '../mode.js';
import { onExisting } from '../refresh.js';
import {
  BOOT_SCRIPT_PATH,
  BOOT_UNIT,
  BOOT_UNIT_PATH,
  renderBootScript,
  renderBootUnit,
  waitUnit,
} from './boot.js';
import { controllerBundle } from './bundle.js';
import { updaterImage } from './image.js';
import { renderUpdaterManifests } from './manifests.js';
import { updaterServiceIp } from './service-ip.js';

/**
 * The apiserver-updater mode as create sees it: after the masters are up, the Service with its fixed
 * ClusterIP, the controller and its RBAC are applied from the first master; then every worker gets
 * the boot script and its unit, run once at once, so the worker joins through the Service IP when it
 * answers and through the first live master otherwise (a worker joins while the first master is down).
 */

export const UPDATER_MANIFEST = '/etc/kubeon/updater/apiserver-updater.yaml';
const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

export function serviceIpOf(spec: ClusterSpec): string {
  return updaterServiceIp(spec.network.serviceCIDR, spec.controlPlane.serviceIP);
}

function bootFiles(ctx: CreateContext): RenderedFile[] {
  const text = renderBootScript({
    cluster: ctx.spec.name,
    endpoint: ctx.spec.controlPlane.endpoint,
    serviceIp: serviceIpOf(ctx.spec),
    masters: allMasters(ctx).map((m) => m.node.ip),
    port: ctx.spec.controlPlane.port,
  });
  return [
    { path: BOOT_SCRIPT_PATH, mode: 0o755, content: text },
    { path: BOOT_UNIT_PATH, mode: 0o644, content: renderBootUnit() },
  ];
}

async function manifests(ctx: CreateContext): Promise<string> {
  const { repos, mirrors } = imageSources(ctx.spec);
  return renderUpdaterManifests({
    serviceCIDR: ctx.spec.network.serviceCIDR,
    serviceIp: serviceIpOf(ctx.spec),
    masters: allMasters(ctx).map((m) => m.node.ip),
    image: updaterImage(repos, mirrors),
    controller: await controllerBundle(),
  });
}

const applyPhase: Phase<CreateData> = {
  id: 'updater-apply',
  title: 'apply the apiserver Service and its updater',
  plan: (ctx) => [
    `Service kube-system/apiserver at ${serviceIpOf(ctx.spec)}:6443, its EndpointSlice, the updater Deployment, ConfigMap and RBAC (server-side apply)`,
  ],
  async run(ctx) {
    const text = await manifests(ctx);
    await runOn(
      ctx,
      firstMaster(ctx),
      script(
        'apply the apiserver-updater manifests',
        raw('umask 077'),
        ...putFiles([{ path: UPDATER_MANIFEST, mode: 0o600, content: text }]),
        sh`${raw(KUBECTL)} apply --server-side --force-conflicts --field-manager kubeon -f ${UPDATER_MANIFEST}`,
      ),
      180_000,
    );
    return [];
  },
};

/** Places the boot script and unit and runs it now; a waiter of an older script is stopped first. */
function bootScript(ctx: CreateContext) {
  return script(
    'place and run the apiserver boot script',
    ...putFiles(bootFiles(ctx)),
    sh`systemctl stop ${waitUnit(ctx.spec.name)} 2>/dev/null || true`,
    raw('systemctl daemon-reload'),
    sh`systemctl enable ${BOOT_UNIT}`,
    sh`systemctl restart ${BOOT_UNIT}`,
  );
}

const bootPhase: Phase<CreateData> = {
  id: 'updater-boot',
  title: 'place the apiserver boot script on workers',
  nodes: workers,
  plan: (ctx, h) =>
    h
      ? [
          `${BOOT_SCRIPT_PATH} and ${BOOT_UNIT} (before kubelet.service), run now: ${ctx.spec.controlPlane.endpoint} -> ${serviceIpOf(ctx.spec)} if it answers, else the first live master`,
        ]
      : [],
  files: (ctx, h) => (h.node.role === 'worker' ? bootFiles(ctx) : []),
  run: (ctx, hosts) => runEach(ctx, hosts, () => bootScript(ctx)),
};

export const updaterMode: HaMode = {
  id: 'updater',
  finalResolve: (ctx, host: Host) => (host.node.role === 'master' ? host.node.ip : serviceIpOf(ctx.spec)),
  afterInit: [],
  beforeWorkerJoin: [applyPhase, bootPhase],
  afterWorkerJoin: [],
  // The controller follows the apiservers by itself; the boot script needs the new master list, and a
  // re-apply installs the mode on a cluster that had one master before.
  mastersChanged: [onExisting(applyPhase, 'updater-refresh'), onExisting(bootPhase, 'updater-refresh-boot')],
  files: (ctx, h) => (h.node.role === 'worker' ? bootFiles(ctx) : []),
};
