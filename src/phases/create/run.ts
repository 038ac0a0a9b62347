import { rm } from 'node:fs/promises';
import { checkVersionSupported } from '../../artifacts/catalog.js';
import { contextName } from '../../cluster/kubeconfig-merge.js';
import { type ClusterNode, clusterNodes } from '../../cluster/nodes.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { whoAmI } from '../../cluster/who.js';
import { writeFileAtomic } from '../../core/atomic.js';
import { badInput, KubeonError } from '../../core/errors.js';
import { plural } from '../../core/suggest.js';
import { type FleetSettings, nodeName, targetOf } from '../../fleet/cluster.js';
import { FileLog, type MemoryLog } from '../../fleet/log.js';
import type { FleetTarget } from '../../fleet/types.js';
import { haModeOf } from '../../ha/index.js';
import { openSession, type Session, type SessionHost } from '../../session/session.js';
import { sessionContext } from '../context.js';
import { Journal } from '../journal.js';
import type { Phase, PhaseContext } from '../phase.js';
import type { Reporter } from '../progress.js';
import { failureSummary, runPhases } from '../runner.js';
import type { CreateData } from './data.js';
import { factsPhase } from './facts.js';
import { createPhases } from './index.js';

/**
 * The whole of `kubeon create` after the spec is validated: session (lock, log, fleet), the check
 * that the cluster does not exist taken under the lock, the journal, the phases, and the closing
 * words on how to reach the cluster. `resume` continues a stored cluster (`kubeon create NAME`).
 */

export interface CreateRequest {
  spec: ClusterSpec;
  settings: FleetSettings;
  resume: boolean;
  dryRun?: boolean;
  renderDir?: string;
  assumeOs?: string;
  fromPhase?: string;
  onlyPhase?: string;
  /** Only reach the nodes, pin host keys and store the cluster (`--register-only`). */
  registerOnly?: boolean;
  /** `--accept-new-image-digests`: a tag that resolves elsewhere than recorded replaces the record. */
  acceptNewImageDigests?: boolean;
}

export interface CreateHost extends SessionHost {
  info(msg: string): void;
  reporter(): Reporter;
}

/**
 * How each node is reached. A dry run on assumed facts contacts nothing, so it needs no secret: a
 * spec whose passwords come from the environment can be planned where that environment is absent.
 */
function targetFor(req: Pick<CreateRequest, 'assumeOs'>, env: NodeJS.ProcessEnv) {
  return (n: ClusterNode): FleetTarget =>
    req.assumeOs
      ? { name: nodeName(n, undefined), host: n.ip, port: n.ssh.port, user: n.ssh.user }
      : targetOf(n, undefined, env);
}

/** The phases' context; `install` are the nodes the run installs (add: the new ones only). */
export function contextFor(
  host: CreateHost,
  req: Pick<CreateRequest, 'spec' | 'settings' | 'dryRun' | 'assumeOs' | 'acceptNewImageDigests'>,
  session: Session,
  abort: AbortController,
  install: ClusterNode[] = clusterNodes(req.spec),
): PhaseContext<CreateData> {
  const spec = req.spec;
  const target = targetFor(req, host.env);
  const nodes = install.map((node) => ({ node, target: target(node) }));
  return sessionContext(
    host,
    session,
    abort,
    spec,
    {
      version: checkVersionSupported(spec.version, { allowDotZero: true }),
      settings: req.settings,
      ha: haModeOf(spec),
      ...(req.assumeOs ? { assumeOs: req.assumeOs } : {}),
      ...(req.acceptNewImageDigests ? { acceptNewImageDigests: true } : {}),
      who: whoAmI(host.env),
      nodes,
      contact: new Map(),
      naming: [],
    },
    { dryRun: Boolean(req.dryRun) },
  );
}

/** Stores what first contact learnt: node names in cluster.yaml, facts in the journal. */
export async function storeFacts(
  host: CreateHost,
  ctx: PhaseContext<CreateData>,
  journal: Journal,
): Promise<void> {
  const named = structuredClone(ctx.spec);
  const byIp = new Map(ctx.hosts.map((h) => [h.node.ip, h]));
  for (const n of [...named.masters, ...named.workers]) {
    const h = byIp.get(n.ip);
    if (!h) continue;
    n.name ??= h.node.name;
    journal.setFacts(n.ip, h.node.name, h.facts);
  }
  await host.store.writeSpec(named);
}

export async function createCluster(host: CreateHost, req: CreateRequest): Promise<void> {
  const { spec } = req;
  const dry = Boolean(req.dryRun);
  const register = Boolean(req.registerOnly);
  const targets = clusterNodes(spec).map(targetFor(req, host.env));
  const session = await openSession(host, spec, {
    command: 'create',
    settings: req.settings,
    targets,
    lock: !dry,
    // A dry run and a registration that fails leave nothing behind: events are written at the end.
    memoryLog: dry || register,
    knownHosts: !dry,
  });
  const existed = host.store.exists(spec.name);
  let stored = false;
  try {
    if (!dry && !req.resume && existed) {
      throw badInput(
        `cluster "${spec.name}" already exists`,
        `run "kubeon create ${spec.name}" with no other arguments to continue it, or "kubeon destroy ${spec.name}" first`,
      );
    }
    const journal = await Journal.open(host.store, spec.name, { persist: !dry && !register });
    if (!dry && !register) {
      // The spec is recorded at the first attempt, so a failed run can be continued by name.
      if (!existed) await host.store.writeSpec(spec);
      journal.setStatus('creating');
      await journal.save();
    }
    const abort = new AbortController();
    const ctx = contextFor(host, req, session, abort);
    const all = createPhases(ctx.data.ha);
    const phases: Phase<CreateData>[] = register ? [factsPhase, registerCheck] : all;
    const facts = phases[0]!;
    const withStore: Phase<CreateData> = {
      ...facts,
      async run(c, hosts) {
        const r = await facts.run(c, hosts);
        if (!dry && !register) await storeFacts(host, c, journal);
        return r;
      },
    };
    const outcome = await runPhases({
      ctx,
      journal,
      phases: [withStore, ...phases.slice(1)],
      report: host.reporter(),
      abort,
      ...(req.fromPhase ? { fromPhase: req.fromPhase } : {}),
      ...(req.onlyPhase ? { onlyPhase: req.onlyPhase } : {}),
      ...(req.renderDir ? { renderDir: req.renderDir } : {}),
      ...(session.log.path ? { logPath: session.log.path } : {}),
      ...(host.env.KUBEON_TEST_STOP_AFTER_PHASE
        ? { stopAfterPhase: host.env.KUBEON_TEST_STOP_AFTER_PHASE }
        : {}),
    }).catch(async (err: unknown) => {
      if (!dry && !register) {
        journal.setStatus('failed');
        await journal.save();
      }
      throw err;
    });
    if (outcome.failures.length) {
      if (!dry && !register) {
        journal.setStatus('failed');
        await journal.save();
      }
      for (const l of failureSummary(outcome.failures, session.log.path)) host.info(session.redact(l));
      const nodes = new Set(outcome.failures.map((f) => f.node)).size;
      throw new KubeonError(
        `create of "${spec.name}" failed on ${nodes} node(s) in "${outcome.failures[0]!.title}"`,
        {
          hint: `fix the cause and run "kubeon create ${spec.name}" to continue; finished work is not redone`,
        },
      );
    }
    if (dry) {
      host.info(
        `dry run: cluster "${spec.name}" (${spec.version}, ${plural(spec.masters.length, 'master')}, ${plural(spec.workers.length, 'worker')}); nothing was changed on any node`,
      );
      return;
    }
    if (register) {
      await registerStore(host, ctx, journal, session);
      stored = true;
      return;
    }
    const nothing = outcome.ran.every((p) =>
      ['facts', 'preflight', 'fetch', 'ready', 'kubeconfig'].includes(p),
    );
    journal.setStatus('running');
    journal.state.kubernetesVersion = spec.version;
    await journal.save();
    if (nothing && existed)
      host.info(`cluster "${spec.name}" is complete and every node is Ready: nothing to do`);
    host.info(
      `cluster "${spec.name}" is ready: ${spec.masters.length} master(s), ${spec.workers.length} worker(s), Kubernetes ${spec.version}\n` +
        `  kubectl --kubeconfig ${session.paths.kubeconfig} get nodes\n` +
        `  or: kubeon use ${spec.name}; kubectl --context ${contextName(spec.name)} get nodes`,
    );
  } finally {
    await session.close();
    // The lock made the cluster directory; a failed registration or a refused dry run must not leave it.
    if (register && !stored && !existed) await rm(session.paths.dir, { recursive: true, force: true });
  }
}

/** `--register-only`: every node reached and nameable, or nothing is stored. */
const registerCheck: Phase<CreateData> = {
  id: 'register',
  title: 'check that every node can be registered',
  readOnly: true,
  always: true,
  async run(ctx) {
    const problems = [
      ...ctx.data.nodes.flatMap(({ node }) => {
        const e = ctx.data.contact.get(node.ip);
        return e ? [`${node.name ?? `${node.role}@${node.ip}`}: ${e.kind}: ${e.message}`] : [];
      }),
      ...ctx.data.naming.map((p) => `${p.node}: failed: ${p.message}`),
    ];
    if (problems.length === 0) return [];
    for (const p of problems) ctx.info(`  ${p}`);
    throw new KubeonError(
      `registration of "${ctx.spec.name}" failed on ${problems.length} of ${ctx.data.nodes.length} node(s); nothing was stored`,
      { hint: 'fix the nodes listed above and run the same command again' },
    );
  },
};

async function registerStore(
  host: CreateHost,
  ctx: PhaseContext<CreateData>,
  journal: Journal,
  session: Session,
): Promise<void> {
  const paths = await host.store.ensureClusterDirs(ctx.spec.name);
  await writeFileAtomic(paths.knownHosts, session.pinsText(), 0o600);
  journal.setStatus('registered');
  await storeFacts(host, ctx, journal);
  await journal.save(true);
  const file = FileLog.open(paths.logs, 'create', session.redactor);
  for (const e of (session.log as MemoryLog).events) file.write(e);
  file.close();
  host.info(
    `cluster "${ctx.spec.name}" registered: ${ctx.hosts.length} node(s) reachable, host keys pinned in ${paths.knownHosts}; nothing was changed on the nodes`,
  );
}
