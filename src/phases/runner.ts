import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Host } from '../cluster/host.js';
import { ExitCode, KubeonError } from '../core/errors.js';
import type { Journal } from './journal.js';
import type { NodeResult, Phase, PhaseContext } from './phase.js';
import type { Reporter } from './progress.js';

/**
 * Runs a list of phases: skips what the journal and the probes say is done, runs the rest in the
 * phase's batches, journals every node's result (state.json saved after each batch), stops at the
 * first phase with a failed node, then runs the clean-ups of the phases it started and ends with a
 * summary per failed node. SIGINT/SIGTERM stop it between batches with the journal saved.
 */

export interface RunnerOptions<D> {
  ctx: PhaseContext<D>;
  journal: Journal;
  phases: Phase<D>[];
  report: Reporter;
  /** Start at this phase, redoing it and everything after (expert use). */
  fromPhase?: string;
  /** Run only this phase (after the read-only ones), redoing it. */
  onlyPhase?: string;
  /** Write every file phases place as DIR/<node>/<absolute path>. */
  renderDir?: string;
  /** The per-command log, named in the failure summary. */
  logPath?: string;
  /** The abort controller behind ctx.signal; the runner aborts it on SIGINT/SIGTERM. */
  abort: AbortController;
}

export interface FailedNode {
  phase: string;
  title: string;
  node: string;
  message: string;
  tail?: string;
}

export interface RunOutcome {
  /** Phases that ran (not skipped as done). */
  ran: string[];
  failures: FailedNode[];
}

function batches<T>(items: T[], size: number | undefined): T[][] {
  if (!size || size >= items.length) return items.length ? [items] : [];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function phaseIds<D>(phases: readonly Phase<D>[]): string[] {
  return phases.map((p) => p.id);
}

function selectPhases<D>(
  phases: Phase<D>[],
  from?: string,
  only?: string,
): { phase: Phase<D>; redo: boolean }[] {
  const wanted = only ?? from;
  if (wanted !== undefined && !phases.some((p) => p.id === wanted)) {
    throw new KubeonError(`unknown phase "${wanted}"`, {
      exitCode: ExitCode.badInput,
      hint: `phases: ${phaseIds(phases).join(', ')}`,
    });
  }
  let reached = from === undefined;
  return phases.flatMap((p) => {
    if (p.id === from) reached = true;
    if (only !== undefined) {
      if (p.id === only) return [{ phase: p, redo: true }];
      return p.readOnly ? [{ phase: p, redo: false }] : [];
    }
    if (!reached) return p.readOnly ? [{ phase: p, redo: false }] : [];
    return [{ phase: p, redo: from !== undefined }];
  });
}

async function writeRendered<D>(ctx: PhaseContext<D>, phase: Phase<D>, dir: string, hosts: Host[]) {
  if (!phase.files) return;
  for (const h of hosts) {
    for (const f of phase.files(ctx, h)) {
      const target = join(dir, h.node.name, f.path);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      // Rendered files can hold keys and tokens: private regardless of the mode on the node.
      await writeFile(target, f.content, { mode: 0o600 });
    }
  }
}

export async function runPhases<D>(o: RunnerOptions<D>): Promise<RunOutcome> {
  const { ctx, journal, report } = o;
  const selected = selectPhases(o.phases, o.fromPhase, o.onlyPhase);
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(s === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated);
    signal = s;
    ctx.info(`${s}: stopping after the running step; the journal is kept, run the same command to continue`);
    o.abort.abort(new Error(s));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started: Phase<D>[] = [];
  const outcome: RunOutcome = { ran: [], failures: [] };
  let thrown: unknown;
  try {
    for (const { phase, redo } of selected) {
      if (signal) break;
      if (redo) journal.forget(phase.id);
      const all = phase.nodes ? phase.nodes(ctx) : [];
      if (ctx.dryRun && !phase.readOnly) {
        if (o.renderDir) await writeRendered(ctx, phase, o.renderDir, all);
        const targets: (Host | undefined)[] = phase.nodes ? all : [undefined];
        for (const h of targets) {
          const actions = phase.plan ? phase.plan(ctx, h) : [phase.title];
          if (actions.length === 0) continue;
          report.emit({
            event: 'plan',
            phase: phase.id,
            title: phase.title,
            node: h ? h.node.name : 'control machine',
            actions,
          });
        }
        continue;
      }
      const t0 = Date.now();
      const counts = { done: 0, failed: 0, skipped: 0 };
      let pending: Host[] = all;
      const control = !phase.nodes;
      if (!phase.always) {
        if (control && journal.done(phase.id)) {
          counts.skipped = 1;
        } else if (!control) {
          const byProbe = phase.done ? await phase.done(ctx, all) : new Set<string>();
          pending = [];
          for (const h of all) {
            const name = h.node.name;
            if (byProbe.has(name) || (!phase.done && journal.done(phase.id, name))) {
              counts.skipped++;
              if (!journal.done(phase.id, name)) journal.record(phase.id, name, 'done', 'found done');
            } else pending.push(h);
          }
        }
      }
      const needed = control ? counts.skipped === 0 : pending.length > 0;
      if (!needed) {
        if (!control) await journal.save();
        report.emit({ event: 'phase-end', phase: phase.id, title: phase.title, ...counts, ms: 0 });
        continue;
      }
      report.emit({ event: 'phase-start', phase: phase.id, title: phase.title, nodes: pending.length });
      if (o.renderDir) await writeRendered(ctx, phase, o.renderDir, pending);
      started.push(phase);
      outcome.ran.push(phase.id);
      const groups = control ? [[]] : batches(pending, phase.batch);
      for (const group of groups) {
        if (signal) break;
        let results: NodeResult[];
        try {
          results = await phase.run(ctx, group);
        } catch (err) {
          journal.record(phase.id, undefined, 'failed', (err as Error).message);
          throw err;
        }
        for (const r of results) {
          const status = r.error ? 'failed' : r.skipped ? 'skipped' : 'done';
          if (r.error) {
            counts.failed++;
            outcome.failures.push({
              phase: phase.id,
              title: phase.title,
              node: r.node,
              message: r.error.message,
              ...(r.tail ? { tail: r.tail } : {}),
            });
          } else if (r.skipped) counts.skipped++;
          else counts.done++;
          // A node that was verified as done is journaled as done: the journal records results.
          journal.record(
            phase.id,
            control ? undefined : r.node,
            status === 'failed' ? 'failed' : 'done',
            r.error?.message,
          );
          if (!control)
            report.emit({
              event: 'node',
              phase: phase.id,
              node: r.node,
              status,
              ...(r.error ? { error: r.error.message } : {}),
            });
        }
        if (control && results.length === 0) journal.record(phase.id, undefined, 'done');
        await journal.save();
        if (counts.failed) break;
      }
      report.emit({
        event: 'phase-end',
        phase: phase.id,
        title: phase.title,
        ...counts,
        ms: Date.now() - t0,
      });
      if (counts.failed) break;
    }
  } catch (err) {
    thrown = err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const failed = thrown !== undefined || outcome.failures.length > 0 || signal !== undefined;
    if (failed) {
      for (const p of started.reverse()) {
        if (!p.cleanUp) continue;
        await p.cleanUp(ctx).catch((e: Error) => ctx.warn(`clean-up of "${p.title}" failed: ${e.message}`));
      }
    }
    await journal.save().catch(() => undefined);
    report.close();
  }
  if (thrown) throw thrown;
  if (signal) {
    throw new KubeonError(`interrupted by ${signal}; what finished is journaled`, {
      exitCode: signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated,
      hint: 'run the same command again to continue',
    });
  }
  return outcome;
}

/** The failure summary: per failed node its phase, message and last lines of output, then the log. */
export function failureSummary(failures: readonly FailedNode[], logPath: string | undefined): string[] {
  const lines: string[] = [];
  for (const f of failures) {
    lines.push(`  ${f.node}: ${f.title} [${f.phase}]: ${f.message}`);
    if (f.tail) for (const l of f.tail.split('\n')) lines.push(`      ${l}`);
  }
  if (logPath) lines.push(`  full output: ${logPath}`);
  return lines;
}
