import { existsSync } from 'node:fs';
import { createDispatcher, getText, reasonOf } from '../../artifacts/http.js';
import { fileSources } from '../../artifacts/mirrors.js';
import { contextName } from '../../cluster/kubeconfig-merge.js';
import { useCluster } from '../../cluster/kubeconfig-user.js';
import { KubeonError } from '../../core/errors.js';
import { raw, script, sh } from '../../fleet/script.js';
import { CNI_MANIFEST_DIR, calicoManifestUrl, cniManifest } from '../../render/cni.js';
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

/** Upstream's manifest for the catalogued version, from the spec's mirrors in order. */
async function fetchManifest(ctx: CreateContext): Promise<string> {
  const url = calicoManifestUrl(ctx.data.version.calico);
  const dispatcher = createDispatcher({ env: ctx.env });
  const tried: string[] = [];
  try {
    for (const source of fileSources(ctx.spec.artifacts.mirrors)) {
      const at = source.rewrite(url);
      if (!at) continue;
      try {
        return await getText(dispatcher, at, { maxBytes: 8 << 20, signal: ctx.signal });
      } catch (err) {
        tried.push(`${at}: ${reasonOf(err)}`);
      }
    }
  } finally {
    await dispatcher.close();
  }
  throw new KubeonError(`the ${ctx.spec.network.cni} manifest could not be fetched: ${tried.join('; ')}`, {
    hint: 'give a mirror that has it with --mirror, or use --cni none and install a network plugin yourself',
  });
}

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
    if (cni === 'cilium')
      throw new KubeonError('cilium is not installed by kubeon create yet', {
        hint: 'use --cni calico, or --cni none and install cilium with its own tool',
      });
    const first = firstMaster(ctx);
    const manifest = cniManifest(renderInput(ctx, first), await fetchManifest(ctx))!;
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

export const READY_TIMEOUT_MS = 5 * 60_000;

export const readyPhase: Phase<CreateData> = {
  id: 'ready',
  title: 'wait for every node to be Ready',
  always: true,
  plan: (ctx) => [`wait until all ${ctx.hosts.length} nodes report Ready`],
  async run(ctx) {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const want = new Set(ctx.hosts.map((h) => h.node.name));
    let waiting: string[] = [...want];
    while (!ctx.signal.aborted) {
      const out = await runOn(ctx, firstMaster(ctx), script('list nodes', raw(`${KUBECTL} get nodes`)));
      const ready = readyNodes(out);
      waiting = [...want].filter((n) => !ready.has(n));
      if (waiting.length === 0) return [];
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    return waiting.map((node) => ({
      node,
      error: { kind: 'failed' as const, message: 'not Ready in time' },
    }));
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
