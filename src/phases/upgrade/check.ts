import { KubeonError } from '../../core/errors.js';
import { plural } from '../../core/suggest.js';
import { withEtcd } from '../../etcd/connect.js';
import { firstMaster, masters, runOn, workers } from '../create/data.js';
import type { Phase } from '../phase.js';
import type { UpgradeContext, UpgradeData } from './data.js';
import { nodeTableScript, parseNodeTable } from './scripts.js';

/**
 * Before anything changes: every node reachable, every Node Ready on the old or the new version (a
 * continued upgrade has both), and every etcd member healthy. Read-only, so `--dry-run` runs it too.
 */

async function etcdProblems(ctx: UpgradeContext): Promise<string[]> {
  const targets = masters(ctx).map((h) => h.target);
  try {
    return await withEtcd(ctx.data.etcd, targets, async (etcd) => {
      const out: string[] = [];
      for (const ep of etcd.endpoints) {
        const h = await etcd.client.health(ep);
        if (!h.healthy) out.push(`${ep.name}: etcd member unhealthy: ${h.error ?? 'no answer'}`);
      }
      return out;
    });
  } catch (err) {
    return [`etcd: ${(err as Error).message}`];
  }
}

export const checkPhase: Phase<UpgradeData> = {
  id: 'upgrade-check',
  title: 'check nodes and etcd before the upgrade',
  always: true,
  readOnly: true,
  async run(ctx) {
    const { from, to } = ctx.data.step;
    const problems: string[] = [];
    for (const { node } of ctx.data.nodes) {
      const e = ctx.data.contact.get(node.ip);
      if (e) problems.push(`${node.name ?? node.ip}: ${e.kind}: ${e.message}`);
    }
    if (problems.length === 0) {
      const rows = parseNodeTable(await runOn(ctx, firstMaster(ctx), nodeTableScript()));
      ctx.data.nodeTable = rows;
      for (const h of ctx.hosts) {
        const r = rows.get(h.node.name);
        if (!r) problems.push(`${h.node.name}: no Node of that name in the cluster`);
        else if (r.version !== from.version && r.version !== to.version)
          problems.push(
            `${h.node.name}: kubelet ${r.version}, neither ${from.version} nor ${to.version}; upgrade it by hand to ${from.version} first`,
          );
        // A node left NotReady by the interrupted run is the one this run continues with.
        else if (!r.ready && !ctx.data.resuming) problems.push(`${h.node.name}: Node is not Ready`);
      }
      problems.push(...(await etcdProblems(ctx)));
    }
    if (problems.length) {
      for (const p of problems) ctx.info(`  ${p}`);
      throw new KubeonError(
        `the upgrade of "${ctx.spec.name}" to ${to.version} found ${plural(problems.length, 'problem')}; nothing was changed`,
        { hint: 'fix the problems listed above and run the same command again' },
      );
    }
    const parts = [
      ctx.data.step.runtime ? `container runtime containerd ${to.containerd}, crictl ${to.crictl}` : '',
      ctx.data.step.cni && ctx.spec.network.cni !== 'none'
        ? `${ctx.spec.network.cni} ${to[ctx.spec.network.cni]}`
        : '',
      ctx.data.step.haproxy ? `haproxy ${to.haproxy}` : '',
    ].filter(Boolean);
    ctx.info(
      `upgrade "${ctx.spec.name}" ${from.version} -> ${to.version}: ${plural(masters(ctx).length, 'master')} one at a time, ${plural(workers(ctx).length, 'worker')} in batches of ${ctx.data.batch}${parts.length ? `; also ${parts.join(', ')}` : ''}`,
    );
    return [];
  },
};
