import { clusterNodes } from '../../cluster/nodes.js';
import { whoAmI } from '../../cluster/who.js';
import { badInput, KubeonError } from '../../core/errors.js';
import { type FleetSettings, targetOf } from '../../fleet/cluster.js';
import { haModeOf } from '../../ha/index.js';
import { openSession } from '../../session/session.js';
import { sessionContext } from '../context.js';
import type { CreateHost } from '../create/run.js';
import { Journal } from '../journal.js';
import { failureSummary, runPhases } from '../runner.js';
import type { UpgradeContext } from './data.js';
import { upgradeStep, workerBatch } from './path.js';
import { upgradePhases } from './phases.js';

/**
 * The whole of `kubeon upgrade` after the arguments parsed: the version step refused or accepted on
 * the control machine alone, then session, journal and phases. A failed or interrupted upgrade
 * leaves the cluster `upgrading`, and the same command continues at the node where it stopped; only
 * a finished upgrade moves the spec to the new version.
 */

export interface UpgradeRequest {
  name: string;
  version: string;
  settings: FleetSettings;
  dryRun?: boolean;
  batch?: number;
  drainTimeoutS?: number;
  readyzTimeoutMs?: number;
  allowDotZero?: boolean;
}

/** The version an unfinished upgrade was heading for, from its journal's tagged phase ids. */
function unfinishedTarget(journal: readonly { phase: string }[]): string | undefined {
  for (let i = journal.length - 1; i >= 0; i--) {
    const at = journal[i]!.phase.split('@')[1];
    if (at) return at;
  }
  return undefined;
}

export async function upgradeCluster(host: CreateHost, req: UpgradeRequest): Promise<void> {
  const spec = await host.store.readSpec(req.name);
  const state = await host.store.readState(req.name);
  const status = state?.status ?? 'registered';
  if (status !== 'running' && status !== 'upgrading')
    throw badInput(
      `cluster "${req.name}" is ${status}, not running`,
      `finish it first with kubeon create ${req.name}`,
    );
  const pending = status === 'upgrading' ? unfinishedTarget(state!.journal) : undefined;
  const step = upgradeStep(req.name, spec.version, req.version, {
    ...(req.allowDotZero ? { allowDotZero: true } : {}),
  });
  if (pending && pending !== step?.to.version)
    throw badInput(
      `the upgrade of "${req.name}" to ${pending} is unfinished`,
      `run kubeon upgrade ${req.name} ${pending} to finish it first`,
    );
  if (!step) {
    host.info(`cluster "${req.name}" already runs ${spec.version}: nothing to do`);
    return;
  }
  const dry = Boolean(req.dryRun);
  const nodes = clusterNodes(spec).map((node) => ({ node, target: targetOf(node, state, host.env) }));
  const session = await openSession(host, spec, {
    command: 'upgrade',
    settings: req.settings,
    targets: nodes.map((n) => n.target),
    lock: !dry,
    memoryLog: dry,
  });
  try {
    const journal = await Journal.open(host.store, spec.name, { persist: !dry });
    if (!dry) {
      journal.setStatus('upgrading');
      await journal.save();
    }
    const abort = new AbortController();
    const ctx: UpgradeContext = sessionContext(
      host,
      session,
      abort,
      spec,
      {
        version: step.to,
        settings: req.settings,
        ha: haModeOf(spec),
        who: whoAmI(host.env),
        nodes,
        contact: new Map(),
        naming: [],
        step,
        batch: workerBatch(spec.workers.length, req.batch),
        drainTimeoutS: req.drainTimeoutS ?? 300,
        readyzTimeoutMs: req.readyzTimeoutMs ?? 180_000,
        resuming: status === 'upgrading',
        etcd: { spec, paths: session.paths, fleet: session.fleet },
      },
      { dryRun: dry },
    );
    const outcome = await runPhases({
      ctx,
      journal,
      phases: upgradePhases(ctx.data),
      report: host.reporter(),
      abort,
      ...(session.log.path ? { logPath: session.log.path } : {}),
    }).catch(async (err: unknown) => {
      // Refused by the check, or stopped before any node changed: the cluster is as it was.
      if (!dry && !journal.state.journal.some((e) => e.phase.endsWith(`@${step.to.version}`))) {
        journal.setStatus(status);
        await journal.save();
      }
      throw err;
    });
    if (outcome.failures.length) {
      for (const l of failureSummary(outcome.failures, session.log.path)) host.info(session.redact(l));
      const n = new Set(outcome.failures.map((f) => f.node)).size;
      throw new KubeonError(
        `upgrade of "${spec.name}" to ${step.to.version} failed on ${n} node(s) in "${outcome.failures[0]!.title}"`,
        {
          hint: `fix the cause and run "kubeon upgrade ${spec.name} ${step.to.version}" to continue; upgraded nodes are not redone`,
        },
      );
    }
    if (dry) {
      host.info(`dry run: upgrade of "${spec.name}" to ${step.to.version}; nothing was changed on any node`);
      return;
    }
    await host.store.writeSpec({ ...spec, version: step.to.version });
    journal.state.kubernetesVersion = step.to.version;
    journal.setStatus('running');
    await journal.save();
    host.info(`cluster "${spec.name}" runs Kubernetes ${step.to.version} on every node`);
  } finally {
    await session.close();
  }
}
