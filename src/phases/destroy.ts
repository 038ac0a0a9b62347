import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import type { Host } from '../cluster/host.js';
import { forgetContext } from '../cluster/kubeconfig-user.js';
import { clusterNodes } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { KubeonError } from '../core/errors.js';
import { type FleetSettings, nodeName, targetOf } from '../fleet/cluster.js';
import { logStamp } from '../fleet/log.js';
import { destroyScript } from '../render/destroy.js';
import { openSession, type SessionHost } from '../session/session.js';
import { sessionContext } from './context.js';
import { Journal } from './journal.js';
import type { NodeResult, Phase, PhaseContext } from './phase.js';
import type { Reporter } from './progress.js';
import { failureSummary, runPhases } from './runner.js';

/**
 * `kubeon destroy NAME`: every node reset and cleaned of what kubeon installed (workers first, then
 * masters one at a time, the first master last), then the cluster forgotten on this machine: its
 * directory (archived with `--keep-backup`) and its kubectl context. Unreachable nodes are reported
 * and keep the cluster unless `--force`. A cluster that never installed anything is just forgotten.
 */

export interface DestroyRequest {
  name: string;
  settings: FleetSettings;
  force?: boolean;
  keepBackup?: boolean;
}

export interface DestroyHost extends SessionHost {
  info(msg: string): void;
  reporter(): Reporter;
}

interface DestroyData {
  version: string;
  sudo: boolean;
  unreachable: { node: string; message: string }[];
}

const UNREACHABLE = new Set(['unreachable', 'auth', 'hostkey']);
const READ_ONLY = new Set(['facts', 'preflight', 'fetch']);

async function cleanNodes(ctx: PhaseContext<DestroyData>, hosts: Host[]): Promise<NodeResult[]> {
  const s = destroyScript({ spec: ctx.spec, version: ctx.data.version });
  const results = await ctx.fleet.run(
    hosts.map((h) => h.target),
    s,
    { sudo: ctx.data.sudo, timeoutMs: 5 * 60_000 },
  );
  return results.map((r) => {
    if (r.error && UNREACHABLE.has(r.error.kind)) {
      ctx.data.unreachable.push({ node: r.node, message: `${r.error.kind}: ${r.error.message}` });
      return { node: r.node, skipped: true };
    }
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n');
    return { node: r.node, ...(r.error ? { error: r.error, ...(tail ? { tail } : {}) } : {}) };
  });
}

const byRole = (role: 'master' | 'worker') => (ctx: PhaseContext<DestroyData>) =>
  ctx.hosts.filter((h) => h.node.role === role);

export const destroyPhases: Phase<DestroyData>[] = [
  {
    id: 'clean-workers',
    title: 'reset and clean the workers',
    nodes: byRole('worker'),
    always: true,
    run: cleanNodes,
  },
  {
    id: 'clean-masters',
    title: 'reset and clean the masters, one at a time',
    // The first master goes last: the others leave etcd while it still answers.
    nodes: (ctx) => byRole('master')(ctx).reverse(),
    batch: 1,
    always: true,
    run: cleanNodes,
  },
];

/** The stored nodes as hosts, named and with the facts the journal kept (unverified). */
export function storedHosts(
  spec: ClusterSpec,
  state: Awaited<ReturnType<SessionHost['store']['readState']>>,
  env: NodeJS.ProcessEnv,
): Host[] {
  return clusterNodes(spec).map((n) => {
    const name = nodeName(n, state);
    // Destroy's phases read no facts (the clean-up script finds out itself); the journal's are kept for the log.
    const facts = state?.nodes[n.ip]?.facts as Host['facts'];
    return { node: { ...n, name }, target: targetOf(n, state, env), facts };
  });
}

export async function destroyCluster(host: DestroyHost, req: DestroyRequest): Promise<void> {
  const spec = await host.store.readSpec(req.name);
  const state = await host.store.readState(req.name);
  // Facts, preflight and fetching change no node: a cluster with nothing else journaled has nothing to clean.
  const installed = (state?.journal ?? []).some((e) => !READ_ONLY.has(e.phase));
  const hosts = storedHosts(spec, state, host.env);
  const session = await openSession(host, spec, {
    command: 'destroy',
    settings: req.settings,
    targets: hosts.map((h) => h.target),
    lock: true,
  });
  try {
    if (installed) {
      const journal = await Journal.open(host.store, spec.name, { persist: false });
      const abort = new AbortController();
      const ctx = sessionContext<DestroyData>(
        host,
        session,
        abort,
        spec,
        {
          version: state?.kubernetesVersion ?? spec.version,
          sudo: Boolean(req.settings.sudo),
          unreachable: [],
        },
        { hosts },
      );
      const outcome = await runPhases({
        ctx,
        journal,
        phases: destroyPhases,
        report: host.reporter(),
        abort,
      });
      for (const u of ctx.data.unreachable)
        host.info(session.redact(`  ${u.node}: not cleaned: ${u.message}`));
      if (outcome.failures.length) {
        for (const l of failureSummary(outcome.failures, session.log.path)) host.info(session.redact(l));
        if (!req.force)
          throw new KubeonError(
            `destroy of "${spec.name}" failed on ${outcome.failures.length} node(s); the cluster is kept`,
            {
              hint: `fix the nodes and run kubeon destroy ${spec.name} again, or add --force to forget them`,
            },
          );
      }
      if (ctx.data.unreachable.length && !req.force)
        throw new KubeonError(
          `${ctx.data.unreachable.length} node(s) could not be reached; the cluster is kept`,
          {
            hint: `bring them back and run kubeon destroy ${spec.name} again, or add --force to forget them uncleaned`,
          },
        );
    } else host.info(`cluster "${spec.name}" never installed anything on its nodes: forgetting it`);
  } finally {
    await session.close();
  }
  if (req.keepBackup) {
    const dir = join(host.store.home, 'backups');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${spec.name}-${logStamp(new Date())}.tar.gz`);
    await tarCreate({ gzip: true, file, cwd: host.store.clustersDir, portable: true }, [spec.name]);
    host.info(`backup of the cluster directory (PKI included, keep it private): ${file}`);
  }
  await host.store.remove(spec.name);
  if (await forgetContext(spec.name, host.env)) host.info(`kubectl context kubeon-${spec.name} removed`);
  host.info(`cluster "${spec.name}" destroyed`);
}
