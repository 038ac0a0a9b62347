import { clusterNodes } from '../cluster/nodes.js';
import { parseTarget, selectNodes } from '../cluster/selectors.js';
import { KubeonError } from '../core/errors.js';
import { plural } from '../core/suggest.js';
import { type FleetSettings, nodeName, targetOf } from '../fleet/cluster.js';
import type { Fleet } from '../fleet/fleet.js';
import { trapInterrupts } from '../fleet/interrupt.js';
import type { FleetLogger } from '../fleet/log.js';
import type { FleetTarget, NodeFailure } from '../fleet/types.js';
import { openSession } from '../session/session.js';
import { type CommandContext, sessionHost } from './context.js';

export interface FleetSession {
  fleet: Fleet;
  targets: FleetTarget[];
  log: FleetLogger;
  /** Aborted by Ctrl-C or SIGTERM: pass it to the fleet's run, query and put. */
  signal: AbortSignal;
  redact(text: string): string;
  /** Redacts every string inside a result before it is printed (-o json/yaml). */
  redactValue<T>(value: T): T;
  /** Closes the fleet and the log; after Ctrl-C or SIGTERM it then exits with 130 or 143. */
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
  const target = parseTarget(targetText, await ctx.store.current());
  const spec = await ctx.store.readSpec(target.cluster);
  const state = await ctx.store.readState(target.cluster);
  const nodes = clusterNodes(spec).map((n) => ({ ...n, name: nodeName(n, state) }));
  const selected = selectNodes(nodes, target.terms, target.selector);
  const targets = selected.map((n) => targetOf(n, state, ctx.env));
  const session = await openSession(sessionHost(ctx), spec, { command, settings, targets });
  const trap = trapInterrupts({ say: (line) => ctx.out.info(line) });
  return {
    fleet: session.fleet,
    targets,
    log: session.log,
    signal: trap.signal,
    redact: session.redact,
    redactValue: (v) => session.redactor.redactValue(v),
    async close() {
      if (trap.signal.aborted) session.log.write({ event: 'interrupted' });
      await session.close();
      trap.release();
    },
  };
}

export interface Tally {
  ok: number;
  /** The command ran and failed, or ran out of time. */
  failed: number;
  /** Nothing ran: no connection or no login. */
  unreachable: number;
  /** Nothing ran: the node offered another host key than the pinned one. */
  hostkeyChanged: number;
  failures: { node: string; error: NodeFailure }[];
}

export function tally(results: readonly { node: string; error?: NodeFailure }[]): Tally {
  const t: Tally = { ok: 0, failed: 0, unreachable: 0, hostkeyChanged: 0, failures: [] };
  for (const r of results) {
    if (!r.error) t.ok++;
    else {
      if (r.error.kind === 'failed' || r.error.kind === 'timeout') t.failed++;
      else if (r.error.kind === 'hostkey-changed') t.hostkeyChanged++;
      else t.unreachable++;
      t.failures.push({ node: r.node, error: r.error });
    }
  }
  return t;
}

/** "3 nodes: 1 ok, 0 failed, 1 unreachable, 1 hostkey-changed": the same words as JSON's kinds. */
export function summaryLine(t: Tally, total: number): string {
  return `${plural(total, 'node')}: ${t.ok} ok, ${t.failed} failed, ${t.unreachable} unreachable${t.hostkeyChanged ? `, ${t.hostkeyChanged} hostkey-changed` : ''}`;
}

/**
 * What to do next, by what went wrong. The log is named only when it holds more than the lines
 * above: the output of failed steps that the command did not print itself.
 */
function nextStep(t: Tally, logPath: string | undefined, outputShown: boolean): string {
  if (t.failed)
    return outputShown || logPath === undefined
      ? 'the output above shows why each command failed'
      : `the output of the failed steps is in the log ${logPath}`;
  const changed = t.failures.find((f) => f.error.kind === 'hostkey-changed');
  if (changed && t.failures.length === 1)
    return `if ${changed.node} was reinstalled, accept its new key with --accept-new-hostkey ${changed.node}`;
  return 'check the addresses, that sshd runs and the login works; the reasons are listed above';
}

/** Prints the summary and failed nodes on stderr; throws (exit 1) when any node failed. */
export function finish(
  ctx: CommandContext,
  what: string,
  t: Tally,
  total: number,
  session: FleetSession,
  opts: { outputShown?: boolean } = {},
): void {
  ctx.out.info(summaryLine(t, total));
  for (const f of t.failures)
    ctx.out.info(session.redact(`  ${f.node}: ${f.error.kind}: ${f.error.message}`));
  if (t.failures.length) {
    throw new KubeonError(`${what} failed on ${t.failures.length} of ${plural(total, 'node')}`, {
      hint: nextStep(t, session.log.path, Boolean(opts.outputShown)),
    });
  }
}
