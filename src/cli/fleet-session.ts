import { clusterNodes } from '../cluster/nodes.js';
import { parseTarget, selectNodes } from '../cluster/selectors.js';
import { KubeonError } from '../core/errors.js';
import { type FleetSettings, nodeName, targetOf } from '../fleet/cluster.js';
import type { Fleet } from '../fleet/fleet.js';
import type { FleetLogger } from '../fleet/log.js';
import type { FleetTarget, NodeFailure } from '../fleet/types.js';
import { openSession } from '../session/session.js';
import { type CommandContext, sessionHost } from './context.js';

export interface FleetSession {
  fleet: Fleet;
  targets: FleetTarget[];
  log: FleetLogger;
  redact(text: string): string;
  close(): Promise<void>;
}

/**
 * Resolves `NAME@SEL` against a registered cluster and opens a fleet on the selected nodes. An
 * unknown cluster or a bad selector fails here (exit 2), before any connection.
 */
export async function openFleetSession(
  ctx: CommandContext,
  targetText: string,
  command: string,
  settings: FleetSettings,
): Promise<FleetSession> {
  const target = parseTarget(targetText);
  const spec = await ctx.store.readSpec(target.cluster);
  const state = await ctx.store.readState(target.cluster);
  const nodes = clusterNodes(spec).map((n) => ({ ...n, name: nodeName(n, state) }));
  const selected = selectNodes(nodes, target.terms, target.selector);
  const targets = selected.map((n) => targetOf(n, state, ctx.env));
  const session = await openSession(sessionHost(ctx), spec, { command, settings, targets });
  return { fleet: session.fleet, targets, log: session.log, redact: session.redact, close: session.close };
}

export interface Tally {
  ok: number;
  failed: number;
  unreachable: number;
  failures: { node: string; error: NodeFailure }[];
}

/** Unreachable counts nodes where nothing ran (no connection, login or host key); failed, the rest. */
export function tally(results: readonly { node: string; error?: NodeFailure }[]): Tally {
  const t: Tally = { ok: 0, failed: 0, unreachable: 0, failures: [] };
  for (const r of results) {
    if (!r.error) t.ok++;
    else {
      if (r.error.kind === 'failed' || r.error.kind === 'timeout') t.failed++;
      else t.unreachable++;
      t.failures.push({ node: r.node, error: r.error });
    }
  }
  return t;
}

/** Prints the summary and failed nodes on stderr; throws (exit 1) when any node failed. */
export function finish(
  ctx: CommandContext,
  what: string,
  t: Tally,
  total: number,
  session: FleetSession,
): void {
  const logPath = session.log.path;
  ctx.out.info(`${total} node(s): ${t.ok} ok, ${t.failed} failed, ${t.unreachable} unreachable`);
  for (const f of t.failures)
    ctx.out.info(session.redact(`  ${f.node}: ${f.error.kind}: ${f.error.message}`));
  if (t.failures.length) {
    throw new KubeonError(`${what} failed on ${t.failures.length} of ${total} node(s)`, {
      hint: `see the log ${logPath}`,
    });
  }
}
