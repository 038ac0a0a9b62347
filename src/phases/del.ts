import type { Host } from '../cluster/host.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { badInput, KubeonError } from '../core/errors.js';
import { plural } from '../core/suggest.js';
import { withEtcd } from '../etcd/connect.js';
import { checkQuorumAfterRemoval } from '../etcd/quorum.js';
import type { FleetSettings } from '../fleet/cluster.js';
import { raw, script, sh } from '../fleet/script.js';
import { haModeOf } from '../ha/index.js';
import { destroyScript } from '../render/destroy.js';
import { openSession, type Session } from '../session/session.js';
import { fetchPhase } from './create/artifacts.js';
import {
  type CreateContext,
  type CreateData,
  failedResult,
  firstMaster,
  runEach,
  runOn,
} from './create/data.js';
import { type CreateHost, contextFor } from './create/run.js';
import { storedHosts } from './destroy.js';
import { Journal } from './journal.js';
import type { NodeResult, Phase } from './phase.js';
import { failureSummary, runPhases } from './runner.js';

/**
 * `kubeon del NAME SEL`: checked first (never the last master, never below etcd's quorum, every
 * node reachable unless `--force`), confirmed, then per node: cordon and drain, the etcd member
 * removed through the etcd API by its ID and checked gone, `kubeadm reset` and the clean-up destroy
 * does, the Node object deleted (after the reset: a running kubelet registers its Node again); then
 * the nodes leave cluster.yaml and the journal, and the HA mode brings the remaining nodes up to date
 * with the new set of masters. Every step is idempotent, so a
 * run that stops is continued by running the same command again.
 */

export interface DelRequest {
  name: string;
  /** The nodes to remove, by address (resolved from the selector by the command). */
  ips: string[];
  settings: FleetSettings;
  /** The nodes are dead: no SSH to them, no drain; removed from etcd and the API only. */
  force?: boolean;
  /** kubectl drain --force: also delete pods no controller manages. */
  forceDrain?: boolean;
  drainTimeoutS: number;
  /** Asked once every check passed; throws to stop with nothing changed. */
  confirm(summary: string): Promise<void>;
}

const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';
const RESET_TIMEOUT_MS = 5 * 60_000;

/** Runs `step` for each host in turn (through the first master), one result per host. */
function oneByOne(step: (ctx: CreateContext, h: Host) => Promise<void>) {
  return async (ctx: CreateContext, hosts: Host[]): Promise<NodeResult[]> => {
    const out: NodeResult[] = [];
    for (const h of hosts) {
      try {
        await step(ctx, h);
        out.push({ node: h.node.name });
      } catch (err) {
        out.push(failedResult(h, err));
      }
    }
    return out;
  };
}

/**
 * Retries an API call a few times: right after a membership change, or on a loaded machine, the
 * apiserver behind the endpoint can miss one client timeout, and every call here is safe to repeat.
 */
const RETRY = raw(
  'retry() { for i in 1 2 3 4 5; do "$@" && return 0; echo "retrying: $1 $2 $3" >&2; sleep 3; done; return 1; }',
);

export function drainScript(node: string, timeoutS: number, force: boolean) {
  return script(
    `drain ${node}`,
    RETRY,
    sh`n=${node}`,
    raw(`nodes=$(retry ${KUBECTL} get nodes -o name)`),
    raw('if printf \'%s\\n\' "$nodes" | grep -qxF -- "node/$n"; then'),
    raw(`  retry ${KUBECTL} cordon "$n"`),
    sh`  retry ${raw(KUBECTL)} drain "$n" --ignore-daemonsets --delete-emptydir-data ${`--timeout=${timeoutS}s`}${raw(force ? ' --force' : '')}`,
    raw('else'),
    raw('  echo "node $n is not registered: nothing to drain"'),
    raw('fi'),
  );
}

export function deleteNodeScript(names: string[]) {
  return script(
    'delete the Node objects',
    RETRY,
    sh`retry ${raw(KUBECTL)} delete node --ignore-not-found ${names}`,
  );
}

interface DelParts {
  req: DelRequest;
  session: Session;
  removing: Host[];
  journal: Journal;
  /** Every master before the removal, to reach etcd through. */
  masters: Host[];
}

function delPhases(p: DelParts, newSpec: ClusterSpec): Phase<CreateData>[] {
  const { req, removing } = p;
  const reachable = () => (req.force ? [] : removing);
  const removingMasters = () => removing.filter((h) => h.node.role === 'master');
  return [
    {
      id: 'drain',
      title: 'cordon and drain',
      nodes: reachable,
      plan: (_ctx, h) => (h ? [`kubectl cordon and drain (timeout ${req.drainTimeoutS} s)`] : []),
      run: oneByOne(async (ctx, h) => {
        await runOn(
          ctx,
          firstMaster(ctx),
          drainScript(h.node.name, req.drainTimeoutS, Boolean(req.forceDrain)),
          (req.drainTimeoutS + 60) * 1000,
        );
      }),
    },
    {
      id: 'etcd-remove',
      title: 'remove the etcd members, one at a time',
      nodes: removingMasters,
      batch: 1,
      plan: (_ctx, h) => (h ? ['etcd member remove by ID through the etcd API, then check it is gone'] : []),
      run: oneByOne(async (_ctx, h) => {
        const via = p.masters.filter((m) => !removing.includes(m)).map((m) => m.target);
        await withEtcd(p.session, via, async ({ client, endpoint }) => {
          const peer = `https://${h.node.ip.includes(':') ? `[${h.node.ip}]` : h.node.ip}:2380`;
          const find = async () =>
            (await client.members(endpoint)).find((m) => m.name === h.node.name || m.peerUrls.includes(peer));
          const member = await find();
          if (!member) return;
          await client.removeMember(endpoint, member.id);
          if (await find())
            throw new Error(`etcd member ${member.id} (${member.name}) is still listed after its removal`);
        });
      }),
    },
    {
      id: 'reset',
      title: 'kubeadm reset and clean the nodes',
      nodes: reachable,
      plan: (_ctx, h) => (h ? ['kubeadm reset, then remove what kubeon installed, as destroy does'] : []),
      run: (ctx, hosts) =>
        runEach(
          ctx,
          hosts,
          () => destroyScript({ spec: ctx.spec, version: ctx.data.version.version }),
          RESET_TIMEOUT_MS,
        ),
    },
    {
      id: 'delete-node',
      title: 'delete the Node objects',
      nodes: () => removing,
      plan: (_ctx, h) => (h ? [`kubectl delete node ${h.node.name}`] : []),
      async run(ctx, hosts) {
        try {
          await runOn(ctx, firstMaster(ctx), deleteNodeScript(hosts.map((h) => h.node.name)));
          return hosts.map((h) => ({ node: h.node.name }));
        } catch (err) {
          return hosts.map((h) => failedResult(h, err));
        }
      },
    },
    {
      id: 'forget-nodes',
      title: 'remove the nodes from cluster.yaml and the journal',
      plan: () => [`${plural(removing.length, 'node')} leave cluster.yaml`],
      async run(ctx) {
        for (const h of removing) p.journal.forgetNode(h.node.name, h.node.ip);
        await ctx.store.writeSpec(newSpec);
        await p.journal.save();
        return [];
      },
    },
    ...haModeOf(newSpec).mastersChanged,
  ];
}

/** The spec without the removed nodes. */
function without(spec: ClusterSpec, ips: ReadonlySet<string>): ClusterSpec {
  return {
    ...spec,
    masters: spec.masters.filter((n) => !ips.has(n.ip)),
    workers: spec.workers.filter((n) => !ips.has(n.ip)),
  };
}

/** Refuses a removal that would stop etcd from committing writes, with the numbers. */
async function checkQuorum(session: Session, masters: Host[], removing: Host[]): Promise<string | undefined> {
  const leaving = removing.filter((h) => h.node.role === 'master').map((h) => h.node.name);
  if (leaving.length === 0) return undefined;
  return withEtcd(
    session,
    masters.map((m) => m.target),
    async ({ client, endpoint, endpoints }) => {
      const members = await client.members(endpoint);
      const healthy = new Set<string>();
      await Promise.all(
        endpoints.map(async (ep) => {
          if ((await client.health(ep)).healthy) healthy.add(ep.name);
        }),
      );
      const verdict = checkQuorumAfterRemoval({
        voters: members.filter((m) => !m.isLearner).map((m) => m.name),
        healthy,
        removing: leaving,
      });
      if (!verdict.ok)
        throw badInput(
          `removing ${leaving.join(', ')} would break etcd's quorum: ${verdict.explanation}`,
          'bring the unhealthy members back first, or remove fewer masters at once',
        );
      return verdict.explanation;
    },
  );
}

export async function delNodes(host: CreateHost, req: DelRequest): Promise<void> {
  const spec = await host.store.readSpec(req.name);
  const state = await host.store.readState(req.name);
  const all = storedHosts(spec, state, host.env);
  const ips = new Set(req.ips);
  const removing = all.filter((h) => ips.has(h.node.ip));
  const masters = all.filter((h) => h.node.role === 'master');
  if (masters.every((h) => ips.has(h.node.ip)))
    throw badInput(
      `removing ${removing.map((h) => h.node.name).join(', ')} would leave "${spec.name}" without a master`,
      `a cluster keeps at least one master; to remove the whole cluster run kubeon destroy ${spec.name}`,
    );
  const session = await openSession(host, spec, {
    command: 'del',
    settings: req.settings,
    targets: all.map((h) => h.target),
    lock: true,
  });
  try {
    if (!req.force) {
      const probes = await session.fleet.query(
        removing.map((h) => h.target),
        'reach',
        'true',
        req.settings.timeoutMs !== undefined ? { timeoutMs: req.settings.timeoutMs } : {},
      );
      const dead = probes.filter((r) => r.error);
      if (dead.length)
        throw new KubeonError(
          `${plural(dead.length, 'node')} cannot be reached: ${dead.map((r) => `${r.node} (${r.error!.kind}: ${r.error!.message})`).join('; ')}; nothing was changed`,
          {
            hint: `bring them back, or add --force to remove them from the cluster and etcd without cleaning them`,
          },
        );
    }
    const quorum = await checkQuorum(session, masters, removing);
    await req.confirm(
      `remove ${removing.map((h) => `${h.node.name} (${h.node.role}, ${h.node.ip})`).join(', ')} from "${spec.name}"${quorum ? `; etcd: ${quorum}` : ''}`,
    );
    const newSpec = without(spec, ips);
    const journal = await Journal.open(host.store, spec.name);
    const parts: DelParts = { req, session, removing, journal, masters };
    const phases = delPhases(parts, newSpec);
    // A del always starts over: each step is idempotent, and the remaining nodes are refreshed again.
    for (const ph of phases) journal.forget(ph.id);
    const abort = new AbortController();
    const ctx = contextFor(host, { spec: newSpec, settings: req.settings }, session, abort, []);
    ctx.data.existing = all.filter((h) => !ips.has(h.node.ip));
    const outcome = await runPhases({
      ctx,
      journal,
      // fetch gives the components the HA mode renders with; it reads the cache and contacts no node.
      phases: [fetchPhase, ...phases],
      report: host.reporter(),
      abort,
      ...(session.log.path ? { logPath: session.log.path } : {}),
    });
    if (outcome.failures.length) {
      for (const l of failureSummary(outcome.failures, session.log.path)) host.info(session.redact(l));
      const gone = !outcome.failures.some((f) => removing.some((h) => h.node.name === f.node));
      throw new KubeonError(
        gone
          ? `the nodes left "${spec.name}", but ${plural(new Set(outcome.failures.map((f) => f.node)).size, 'remaining node')} could not be brought up to date`
          : `del on "${spec.name}" failed in "${outcome.failures[0]!.title}"; nothing after it was done`,
        {
          hint: gone
            ? `bring them back and run kubeon add ${spec.name} --resume`
            : `fix the cause and run the same command again; every step is safe to repeat`,
        },
      );
    }
    host.info(
      `removed ${removing.map((h) => h.node.name).join(', ')} from "${spec.name}": now ${plural(newSpec.masters.length, 'master')}, ${plural(newSpec.workers.length, 'worker')}`,
    );
  } finally {
    await session.close();
  }
}
