import type { Host } from '../../cluster/host.js';
import { waitReadyz } from '../../pki/renew.js';
import { kubeInstallScript } from '../../render/kubelet.js';
import { runtimeInstallScript } from '../../render/runtime.js';
import { distributePhase, fetchPhase, imagesPhase } from '../create/artifacts.js';
import { cniPhase, readyPhase } from '../create/cluster.js';
import { components, firstMaster, masters, renderInput, runOn, workers } from '../create/data.js';
import { factsPhase } from '../create/facts.js';
import type { NodeResult, Phase } from '../phase.js';
import { rollMasters } from '../roll.js';
import { checkPhase } from './check.js';
import { readyzCredentials, type UpgradeContext, type UpgradeData, upgradedNodes } from './data.js';
import {
  drainScript,
  installKubeadmScript,
  kubeadmUpgradeScript,
  nodeTableScript,
  parseNodeTable,
  restartKubeletScript,
  uncordonScript,
} from './scripts.js';
import { snapshotPhase } from './snapshot.js';

/**
 * `kubeon upgrade` as one list of phases on create's runner and journal: check, artifacts of the new
 * version, an etcd snapshot, `kubeadm upgrade apply` on the first master, the other masters one at a
 * time, the workers in batches (cordoned, drained, upgraded, uncordoned), then what follows the minor
 * (network plugin, HA proxy). Phases that change nodes carry the target version in their id, so the
 * journal says which nodes reached which version and a later upgrade is not mistaken for done.
 */

const KUBEADM_TIMEOUT_MS = 10 * 60_000;
const STEP_TIMEOUT_MS = 5 * 60_000;
const NODE_READY_TIMEOUT_MS = 5 * 60_000;

/** Polls the Nodes until every name is Ready on the new version; returns those that never were. */
async function waitNodesUpgraded(ctx: UpgradeContext, names: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + NODE_READY_TIMEOUT_MS;
  let waiting = [...names];
  // Not cut short by Ctrl-C: the batch ends with its nodes uncordoned, never left drained.
  for (;;) {
    // The API server may be restarting with its node's kubelet and runtime: keep asking until the deadline.
    const table = await runOn(ctx, firstMaster(ctx), nodeTableScript()).catch(() => undefined);
    const rows = table === undefined ? new Map() : parseNodeTable(table);
    waiting = waiting.filter((n) => {
      const r = rows.get(n);
      return !(r?.ready && r.version === ctx.data.step.to.version);
    });
    if (waiting.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return waiting;
}

/** kubelet, kubectl (and the runtime when the minor moves it) from the new bundle, then a kubelet restart. */
async function swapKubelet(ctx: UpgradeContext, h: Host): Promise<void> {
  if (ctx.data.step.runtime) await runOn(ctx, h, runtimeInstallScript(renderInput(ctx, h)), STEP_TIMEOUT_MS);
  await runOn(ctx, h, kubeInstallScript(renderInput(ctx, h)), STEP_TIMEOUT_MS);
  await runOn(ctx, h, restartKubeletScript(), STEP_TIMEOUT_MS);
}

function drain(ctx: UpgradeContext, names: readonly string[]) {
  const s = ctx.data.drainTimeoutS;
  return runOn(ctx, firstMaster(ctx), drainScript(names, s), (s * names.length + 60) * 1000);
}

/** One master: kubeadm's upgrade of its control plane, then drain, kubelet, Ready, uncordon. */
async function upgradeMaster(ctx: UpgradeContext, h: Host, first: boolean): Promise<void> {
  const to = ctx.data.step.to.version;
  await runOn(ctx, h, installKubeadmScript(components(ctx).bundleDir));
  await runOn(ctx, h, kubeadmUpgradeScript(first, to), KUBEADM_TIMEOUT_MS);
  await drain(ctx, [h.node.name]);
  await swapKubelet(ctx, h);
  const late = await waitNodesUpgraded(ctx, [h.node.name]);
  if (late.length) throw new Error(`the Node is not Ready on ${to} after the kubelet restart`);
  await runOn(ctx, firstMaster(ctx), uncordonScript([h.node.name]));
}

function failure(h: Host, err: unknown): NodeResult {
  // runOn's errors carry the node's last lines; rollMasters wraps them with the hint.
  const e = err as Error & { hint?: string; tail?: string; cause?: { tail?: string } };
  const tail = e.tail ?? e.cause?.tail;
  return {
    node: h.node.name,
    error: { kind: 'failed', message: e.hint ? `${e.message} (then: ${e.hint})` : e.message },
    ...(tail ? { tail } : {}),
  };
}

async function rollPhase(ctx: UpgradeContext, hosts: Host[], first: boolean): Promise<NodeResult[]> {
  const creds = await readyzCredentials(ctx);
  const out: NodeResult[] = [];
  for (const h of hosts) {
    try {
      await rollMasters([h], {
        what: `the upgrade to ${ctx.data.step.to.version}`,
        step: (m) => upgradeMaster(ctx, m, first),
        readyz: (m) => waitReadyz(m.node.ip, creds, { timeoutMs: ctx.data.readyzTimeoutMs }),
        hint: () => `run kubeon upgrade ${ctx.spec.name} ${ctx.data.step.to.version} to continue from it`,
      });
      out.push({ node: h.node.name });
    } catch (err) {
      out.push(failure(h, err));
      break;
    }
  }
  return out;
}

export const applyPhase: Phase<UpgradeData> = {
  id: 'upgrade-apply',
  title: 'kubeadm upgrade apply on the first master',
  nodes: (ctx) => [firstMaster(ctx)],
  batch: 1,
  done: async (ctx, hosts) => upgradedNodes(ctx, hosts),
  plan: (ctx, h) =>
    h
      ? [
          `kubeadm ${ctx.data.step.to.version}, kubeadm upgrade apply ${ctx.data.step.to.version} --certificate-renewal=false, drain, kubelet and kubectl, restart, /readyz, uncordon`,
        ]
      : [],
  run: (ctx, hosts) => rollPhase(ctx, hosts, true),
};

export const mastersPhase: Phase<UpgradeData> = {
  id: 'upgrade-masters',
  title: 'upgrade the other masters, one at a time',
  nodes: (ctx) => masters(ctx).slice(1),
  batch: 1,
  done: async (ctx, hosts) => upgradedNodes(ctx, hosts),
  plan: (ctx, h) =>
    h
      ? [
          `kubeadm ${ctx.data.step.to.version}, kubeadm upgrade node --certificate-renewal=false, drain, kubelet and kubectl, restart, /readyz, uncordon`,
        ]
      : [],
  run: (ctx, hosts) => rollPhase(ctx, hosts, false),
};

export const workersPhase: Phase<UpgradeData> = {
  id: 'upgrade-workers',
  title: 'upgrade the workers in batches',
  nodes: workers,
  // The runner cuts the pending workers into batches of this size; set per run from --batch.
  batch: 1,
  done: async (ctx, hosts) => upgradedNodes(ctx, hosts),
  plan: (ctx, h) =>
    h
      ? [
          `in a batch of ${ctx.data.batch}: cordon and drain, kubeadm upgrade node, kubelet ${ctx.data.step.to.version}${ctx.data.step.runtime ? ' and the container runtime' : ''}, restart, Ready, uncordon`,
        ]
      : [],
  async run(ctx, hosts) {
    const names = hosts.map((h) => h.node.name);
    try {
      await drain(ctx, names);
    } catch (err) {
      return hosts.map((h) => failure(h, err));
    }
    const to = ctx.data.step.to.version;
    const results = await Promise.all(
      hosts.map(async (h): Promise<NodeResult> => {
        try {
          await runOn(ctx, h, installKubeadmScript(components(ctx).bundleDir));
          await runOn(ctx, h, kubeadmUpgradeScript(false, to), KUBEADM_TIMEOUT_MS);
          await swapKubelet(ctx, h);
          return { node: h.node.name };
        } catch (err) {
          return failure(h, err);
        }
      }),
    );
    const upgraded = results.filter((r) => !r.error).map((r) => r.node);
    let late: string[] = [];
    try {
      late = upgraded.length ? await waitNodesUpgraded(ctx, upgraded) : [];
      const ready = upgraded.filter((n) => !late.includes(n));
      if (ready.length) await runOn(ctx, firstMaster(ctx), uncordonScript(ready));
    } catch (err) {
      return hosts.map((h) => failure(h, err));
    }
    return results.map((r) =>
      late.includes(r.node)
        ? { node: r.node, error: { kind: 'failed', message: `not Ready on ${to} after the kubelet restart` } }
        : r,
    );
  },
};

/** Every phase of an upgrade to `data.step.to`, ids tagged with that version where they change nodes. */
export function upgradePhases(data: UpgradeData): Phase<UpgradeData>[] {
  const v = data.step.to.version;
  const at = <P extends Phase<UpgradeData>>(p: P): P => ({ ...p, id: `${p.id}@${v}` });
  return [
    factsPhase,
    checkPhase,
    fetchPhase,
    at(distributePhase),
    at(imagesPhase),
    at(snapshotPhase),
    at(applyPhase),
    at(mastersPhase),
    { ...at(workersPhase), batch: data.batch },
    ...(data.step.cni ? [at(cniPhase)] : []),
    ...(data.step.haproxy ? data.ha.beforeWorkerJoin.map(at) : []),
    readyPhase,
  ];
}
