import { existsSync } from 'node:fs';
import { contextName } from '../../cluster/kubeconfig-merge.js';
import { useCluster } from '../../cluster/kubeconfig-user.js';
import { KubeonError } from '../../core/errors.js';
import { raw, script, sh } from '../../fleet/script.js';
import { CNI_MANIFEST_DIR, cniManifest } from '../../render/cni.js';
import { putFiles } from '../../render/files.js';
import type { Phase } from '../phase.js';
import { type CreateContext, type CreateData, firstMaster, renderInput, runOn } from './data.js';

/**
 * The cluster-wide steps after the nodes joined, all through kubectl on the first master with its
 * admin.conf: role and spec labels, the CNI manifest, the wait for every node to be Ready; then the
 * control machine's kubeconfig.
 */

const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';

/**
 * Role labels are set through the API: kubelet may not set node-role.kubernetes.io/* itself. Nodes
 * are labelled once every Node has registered.
 */
export function labelScript(ctx: CreateContext) {
  const groups = new Map<string, { pairs: string[]; names: string[] }>();
  for (const h of ctx.hosts) {
    const labels: Record<string, string> = { ...h.node.labels };
    if (h.node.role === 'worker') labels['node-role.kubernetes.io/worker'] = '';
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    if (pairs.length === 0) continue;
    const key = pairs.join('\n');
    const g = groups.get(key) ?? { pairs, names: [] };
    g.names.push(h.node.name);
    groups.set(key, g);
  }
  const names = [...groups.values()].flatMap((g) => g.names);
  return script(
    'label nodes',
    sh`want=${names.map((n) => `node/${n}`).join('\n')}`,
    // The kubelet registers its Node a moment after join; wait for all of them.
    raw(
      `for _ in $(seq 1 90); do missing=$(${KUBECTL} get nodes -o name | grep -vxF -f - <(printf '%s\\n' "$want") || true); [ -z "$missing" ] && break; sleep 2; done`,
    ),
    // One node per call (as every kubectl takes it), eight at a time.
    ...[...groups.values()].map(
      (g) =>
        sh`printf '%s\n' ${g.names} | xargs -P 8 -I{} ${raw(KUBECTL)} label node {} --overwrite ${g.pairs}`,
    ),
  );
}

export const labelsPhase: Phase<CreateData> = {
  id: 'labels',
  title: 'label the nodes',
  plan: () => [`node-role.kubernetes.io/worker on workers, and the labels from the spec, through the API`],
  async run(ctx) {
    await runOn(ctx, firstMaster(ctx), labelScript(ctx), 10 * 60_000);
    return [];
  },
};

export const cniPhase: Phase<CreateData> = {
  id: 'cni',
  title: 'install the network plugin',
  plan: (ctx) =>
    ctx.spec.network.cni === 'none'
      ? []
      : [
          `apply ${ctx.spec.network.cni} ${ctx.data.version[ctx.spec.network.cni]} with pod CIDR ${ctx.spec.network.podCIDR}`,
        ],
  async run(ctx) {
    const cni = ctx.spec.network.cni;
    if (cni === 'none') return [];
    const first = firstMaster(ctx);
    // Fetched and verified (calico) or checked (cilium) by the fetch phase, which runs on every attempt.
    const manifest = cniManifest(renderInput(ctx, first), ctx.data.artifacts!.cniManifest!.text)!;
    const path = `${CNI_MANIFEST_DIR}/${cni}.yaml`;
    await runOn(
      ctx,
      first,
      script(
        `apply the ${cni} manifest`,
        ...putFiles([{ path, mode: 0o644, content: manifest }]),
        sh`${raw(KUBECTL)} apply -f ${path}`,
      ),
      180_000,
    );
    return [];
  },
};

/**
 * Ready node names from `kubectl get nodes` (the table: NAME STATUS ...). The table, not JSON: a
 * hundred nodes' JSON outgrows what a step's output keeps.
 */
export function readyNodes(table: string): Set<string> {
  const out = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const [name, status] = line.trim().split(/\s+/);
    if (name && status?.split(',').includes('Ready')) out.add(name);
  }
  return out;
}

/**
 * How long the wait goes on without one more node turning Ready. A fixed bound from the start would
 * fail a 300-node cluster that is still converging steadily; no progress for this long is a fault.
 */
export const READY_STALL_MS = 5 * 60_000;

export interface ReadyWait {
  /** The names of the nodes Ready now. */
  poll(): Promise<Set<string>>;
  stallMs: number;
  intervalMs: number;
  signal: AbortSignal;
  now?: () => number;
}

/**
 * Polls until every wanted node is Ready; returns those still not Ready once `stallMs` passed
 * without a new low in their number (empty when all are). Throws the abort reason when interrupted.
 */
export async function waitForReady(want: readonly string[], w: ReadyWait): Promise<string[]> {
  const now = w.now ?? Date.now;
  let deadline = now() + w.stallMs;
  // Progress is a new low of nodes not Ready: nodes flapping between Ready and not do not count.
  let fewest = want.length;
  for (;;) {
    if (w.signal.aborted) throw w.signal.reason;
    const ready = await w.poll();
    const waiting = want.filter((n) => !ready.has(n));
    if (waiting.length === 0) return [];
    if (waiting.length < fewest) {
      fewest = waiting.length;
      deadline = now() + w.stallMs;
    }
    if (now() >= deadline) return waiting;
    await new Promise((r) => setTimeout(r, w.intervalMs));
  }
}

export const readyPhase: Phase<CreateData> = {
  id: 'ready',
  title: 'wait for every node to be Ready',
  always: true,
  plan: (ctx) => [`wait until all ${ctx.hosts.length} nodes report Ready`],
  async run(ctx) {
    const waiting = await waitForReady(
      ctx.hosts.map((h) => h.node.name),
      {
        poll: async () =>
          readyNodes(await runOn(ctx, firstMaster(ctx), script('list nodes', raw(`${KUBECTL} get nodes`)))),
        stallMs: READY_STALL_MS,
        intervalMs: 3000,
        signal: ctx.signal,
      },
    );
    const message = `not Ready, and no node turned Ready in the last ${READY_STALL_MS / 60_000} minutes`;
    return waiting.map((node) => ({ node, error: { kind: 'failed' as const, message } }));
  },
};

export const kubeconfigPhase: Phase<CreateData> = {
  id: 'kubeconfig',
  title: 'write the control-machine kubeconfig',
  always: true,
  plan: (ctx) => [
    `${ctx.paths.kubeconfig}; context ${contextName(ctx.spec.name)} made current if no cluster is`,
  ],
  async run(ctx) {
    if (!existsSync(ctx.paths.kubeconfig))
      throw new KubeonError(`${ctx.paths.kubeconfig} is missing`, {
        hint: `run kubeon certs ${ctx.spec.name} renew`,
      });
    if ((await ctx.store.current()) === undefined) {
      const target = await useCluster(ctx.store, ctx.spec.name, ctx.paths.kubeconfig, ctx.env);
      ctx.info(
        `"${ctx.spec.name}" is now the current cluster; kubectl context ${contextName(ctx.spec.name)} set in ${target}`,
      );
    }
    return [];
  },
};
