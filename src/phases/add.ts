import { clusterNodes } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterState } from '../cluster/state.js';
import { badInput, KubeonError } from '../core/errors.js';
import { plural } from '../core/suggest.js';
import type { FleetSettings } from '../fleet/cluster.js';
import { haModeOf } from '../ha/index.js';
import { openSession } from '../session/session.js';
import type { CreateData } from './create/data.js';
import { addPhases } from './create/index.js';
import { type CreateHost, contextFor, storeFacts } from './create/run.js';
import { storedHosts } from './destroy.js';
import { Journal } from './journal.js';
import type { Phase } from './phase.js';
import { failureSummary, runPhases } from './runner.js';

/**
 * `kubeon add NAME`: the new nodes go into cluster.yaml first, each marked pending in the journal
 * (phase `add`, keyed by address, since a node is named at first contact); create's phases then
 * prepare and join only them, through the existing masters, and the HA mode brings the existing
 * nodes up to date with the new set of masters. A run that stops is continued by
 * `kubeon add NAME --resume`, which finds the pending nodes and the existing nodes not yet refreshed
 * in the journal.
 */

export interface AddRequest {
  name: string;
  /** The stored spec with the new nodes appended (validated), or undefined to resume. */
  spec?: ClusterSpec;
  added?: { masters: string[]; workers: string[] };
  settings: FleetSettings;
  dryRun?: boolean;
}

export const ADD_STEP = 'add';

/** Addresses of nodes an add recorded and has not finished. */
export function pendingAdds(state: ClusterState | undefined): string[] {
  const last = new Map<string, string>();
  for (const e of state?.journal ?? []) if (e.phase === ADD_STEP && e.node) last.set(e.node, e.status);
  return [...last].filter(([, status]) => status !== 'done').map(([ip]) => ip);
}

function checkState(name: string, state: ClusterState | undefined): void {
  if (state?.status === 'running') return;
  throw badInput(
    `cluster "${name}" is ${state?.status ?? 'not created'}, not running`,
    `finish it first with kubeon create ${name}`,
  );
}

export async function addNodes(host: CreateHost, req: AddRequest): Promise<void> {
  const stored = await host.store.readSpec(req.name);
  const state = await host.store.readState(req.name);
  checkState(req.name, state);
  const pending = pendingAdds(state);
  if (req.spec && pending.length)
    throw badInput(
      `an earlier add to "${req.name}" is unfinished (${pending.join(', ')})`,
      `continue it with kubeon add ${req.name} --resume, then add more nodes`,
    );
  const spec = req.spec ?? stored;
  const newIps = new Set(req.spec ? [...req.added!.masters, ...req.added!.workers] : pending);
  const dry = Boolean(req.dryRun);
  const all = clusterNodes(spec);
  const install = all.filter((n) => newIps.has(n.ip));
  const session = await openSession(host, spec, {
    command: 'add',
    settings: req.settings,
    targets: storedHosts(spec, state, host.env).map((h) => h.target),
    lock: !dry,
    memoryLog: dry,
    knownHosts: !dry,
  });
  try {
    const journal = await Journal.open(host.store, spec.name, { persist: !dry });
    const ha = haModeOf(spec);
    if (req.spec && !dry) {
      // Recorded before anything is contacted, so a run that stops can be continued by name.
      await host.store.writeSpec(spec);
      for (const ip of newIps) journal.record(ADD_STEP, ip, 'failed', 'not added yet');
      // A new set of masters: every existing node is brought up to date again.
      for (const p of ha.mastersChanged) journal.forget(p.id);
      await journal.save();
    }
    const abort = new AbortController();
    const ctx = contextFor(host, { spec, settings: req.settings, dryRun: dry }, session, abort, install);
    ctx.data.existing = storedHosts(spec, state, host.env).filter((h) => !newIps.has(h.node.ip));
    const [facts, ...rest] = addPhases(ha);
    const withStore: Phase<CreateData> = {
      ...facts!,
      async run(c, hosts) {
        const r = await facts!.run(c, hosts);
        if (!dry) await storeFacts(host, c, journal);
        return r;
      },
    };
    const outcome = await runPhases({
      ctx,
      journal,
      phases: [withStore, ...rest],
      report: host.reporter(),
      abort,
      ...(session.log.path ? { logPath: session.log.path } : {}),
    });
    const failedNodes = new Set(outcome.failures.map((f) => f.node));
    if (!dry) {
      // A new node is added once it joined and is Ready; only a refresh of existing nodes may remain.
      const refreshIds = new Set(ha.mastersChanged.map((p) => p.id));
      const failedOnNew = outcome.failures.some((f) => !refreshIds.has(f.phase));
      if (!failedOnNew) for (const h of ctx.hosts) journal.record(ADD_STEP, h.node.ip, 'done');
      await journal.save();
    }
    if (outcome.failures.length) {
      for (const l of failureSummary(outcome.failures, session.log.path)) host.info(session.redact(l));
      const refreshOnly = outcome.failures.every((f) => ha.mastersChanged.some((p) => p.id === f.phase));
      throw new KubeonError(
        refreshOnly
          ? `the new nodes of "${spec.name}" are in, but ${plural(failedNodes.size, 'existing node')} could not be brought up to date with the new masters`
          : `add to "${spec.name}" failed on ${plural(failedNodes.size, 'node')} in "${outcome.failures[0]!.title}"`,
        {
          hint: `fix the cause (bring the nodes back) and run "kubeon add ${spec.name} --resume"; finished work is not redone`,
        },
      );
    }
    if (dry) {
      host.info(
        `dry run: ${plural(install.length, 'node')} would be added to "${spec.name}"; nothing was changed`,
      );
      return;
    }
    const ms = spec.masters.length;
    host.info(
      install.length
        ? `added ${plural(install.length, 'node')} to "${spec.name}": now ${plural(ms, 'master')}, ${plural(spec.workers.length, 'worker')}`
        : `cluster "${spec.name}": every existing node is up to date with the masters`,
    );
  } finally {
    await session.close();
  }
}
