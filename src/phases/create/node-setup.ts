import type { Host } from '../../cluster/host.js';
import { failureOf } from '../../fleet/types.js';
import { placeFiles, readPlacement } from '../../pki/placement.js';
import { ensureClusterPki } from '../../pki/store.js';
import { hostsBlockScript } from '../../render/hosts.js';
import { kubeInstallScript, kubeletFiles } from '../../render/kubelet.js';
import { osFiles, osPrepareScript } from '../../render/os.js';
import { runtimeFiles, runtimeInstallScript } from '../../render/runtime.js';
import type { NodeResult, Phase } from '../phase.js';
import {
  allMasters,
  type CreateContext,
  type CreateData,
  firstMaster,
  masters,
  renderInput,
  runEach,
} from './data.js';

/**
 * The per-node preparation before kubeadm: OS, container runtime, Kubernetes binaries (scripts from
 * src/render, each with its own "already done?" guard), kubeon's PKI on the masters, and the
 * endpoint's /etc/hosts block.
 */

const all = (ctx: CreateContext) => ctx.hosts;

export const osPhase: Phase<CreateData> = {
  id: 'os',
  title: 'prepare the operating system',
  nodes: all,
  plan: (_ctx, h) =>
    h ? [`${h.facts.os.pretty}: swap off, kernel modules, sysctls, packages, firewall, time sync`] : [],
  files: (ctx, h) => osFiles(renderInput(ctx, h)),
  run: (ctx, hosts) => runEach(ctx, hosts, (h) => osPrepareScript(renderInput(ctx, h))),
};

export const runtimePhase: Phase<CreateData> = {
  id: 'runtime',
  title: 'install containerd, runc, CNI plugins and crictl',
  nodes: all,
  plan: (ctx, h) =>
    h
      ? [
          `containerd ${ctx.data.version.containerd} with SystemdCgroup, sandbox ${ctx.data.components?.images.sandboxImage ?? ''}`,
        ]
      : [],
  files: (ctx, h) => runtimeFiles(renderInput(ctx, h)),
  run: (ctx, hosts) => runEach(ctx, hosts, (h) => runtimeInstallScript(renderInput(ctx, h))),
};

export const kubePhase: Phase<CreateData> = {
  id: 'kube',
  title: 'install kubelet, kubeadm and kubectl',
  nodes: all,
  plan: (ctx, h) =>
    h
      ? [
          `kubelet/kubeadm ${ctx.data.version.version}${h.node.role === 'master' ? ' and kubectl' : ''}, kubelet unit enabled`,
        ]
      : [],
  files: (ctx, h) => kubeletFiles(renderInput(ctx, h)),
  run: (ctx, hosts) => runEach(ctx, hosts, (h) => kubeInstallScript(renderInput(ctx, h))),
};

const pkiNode = (h: Host) => ({ name: h.node.name, ip: h.node.ip });

export const pkiPhase: Phase<CreateData> = {
  id: 'pki',
  title: "place kubeon's certificates on masters",
  nodes: masters,
  plan: (_ctx, h) =>
    h ? ['CAs, sa keys, leaves and kubeconfigs into /etc/kubernetes (100-year validity)'] : [],
  async run(ctx, hosts): Promise<NodeResult[]> {
    // Every master's material, the existing ones' included: what is there already is reused as it is.
    await ensureClusterPki(ctx.paths, ctx.spec, ctx.data.version.version, allMasters(ctx).map(pkiNode), {
      now: ctx.now(),
      who: ctx.data.who,
    });
    const first = firstMaster(ctx).node.name;
    return Promise.all(
      hosts.map(async (h) => {
        try {
          const files = await readPlacement(ctx.paths.pki, ctx.spec, ctx.data.version.version, pkiNode(h), {
            kubelet: h.node.name === first,
          });
          await placeFiles(ctx.fleet, h.target, files, ctx.paths.pki);
          return { node: h.node.name };
        } catch (err) {
          return { node: h.node.name, error: failureOf(err) };
        }
      }),
    );
  },
};

/**
 * Where the endpoint name resolves on a node before it joins: a master resolves it to the first
 * master until its own API server runs (a joining master must not point at itself), every other
 * node to a live master too; the HA mode moves them to their final address later. A mode may fix
 * the address from the start (external: the load balancer).
 */
export function joinResolve(ctx: CreateContext, h: Host): string {
  const fixed = ctx.data.ha.joinResolve?.(ctx, h);
  if (fixed !== undefined) return fixed;
  return h.node.name === firstMaster(ctx).node.name ? h.node.ip : firstMaster(ctx).node.ip;
}

export function hostsScript(ctx: CreateContext, ip: string) {
  return hostsBlockScript(ctx.spec.name, [{ ip, names: [ctx.spec.controlPlane.endpoint] }]);
}

export const endpointPhase: Phase<CreateData> = {
  id: 'endpoint',
  title: 'wire the control-plane endpoint in /etc/hosts',
  nodes: all,
  plan: (ctx, h) =>
    h
      ? [
          `${ctx.spec.controlPlane.endpoint} -> ${joinResolve(ctx, h)} (marked block "# BEGIN kubeon ${ctx.spec.name}")`,
        ]
      : [],
  run: (ctx, hosts) => runEach(ctx, hosts, (h) => hostsScript(ctx, joinResolve(ctx, h))),
};
