import { Command } from 'commander';
import { bar } from '../../artifacts/progress.js';
import { badInput } from '../../core/errors.js';
import { plural } from '../../core/suggest.js';
import type { PutProgress } from '../../fleet/fleet.js';
import { ASK_PASS_HELP, withAskedPassword } from '../ask-pass.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';

interface CpOptions extends FleetFlagValues {
  askPass?: boolean;
  mode?: string;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * One progress line for the whole copy: a redrawn bar on a terminal, a plain line every few
 * seconds otherwise (CI logs), never one line per node.
 */
function progressReporter(ctx: CommandContext) {
  const tty = Boolean(ctx.streams.stderr.isTTY);
  const started = Date.now();
  let last = started;
  let drawn = false;
  let failed = 0;
  const line = (p: PutProgress, final: boolean) => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    // The fleet counts a failed node's share as done, to keep its total meaningful; the line the
    // user reads counts only what arrived, so a copy with failures never shows 100%.
    const lost = p.nodesTotal ? (failed * p.total) / p.nodesTotal : 0;
    const arrived = Math.max(0, p.done - lost);
    const share = p.total ? arrived / p.total : (p.nodesDone - failed) / Math.max(1, p.nodesTotal);
    const pct = final ? Math.floor(share * 100) : Math.min(99, Math.floor(share * 100));
    const speed = `${mb(p.sent / secs)} MB/s`;
    const nodes = `${p.nodesDone}/${p.nodesTotal} nodes${failed ? `, ${failed} failed` : ''}`;
    return { pct, text: `${mb(arrived)}/${mb(p.total)} MB  ${speed}  ${nodes}` };
  };
  const draw = (p: PutProgress, final = false) => {
    const { pct, text } = line(p, final);
    if (tty) {
      ctx.streams.stderr.write(`\r${bar(pct / 100, 20)} ${String(pct).padStart(3)}%  ${text}\x1b[K`);
      drawn = true;
    } else {
      ctx.streams.stderr.write(`copy: ${pct}%  ${text}\n`);
    }
  };
  let final: PutProgress | undefined;
  return {
    nodeFailed() {
      failed++;
    },
    update(p: PutProgress) {
      // The last line waits for end(), when every node's result (and failure) is known.
      if (p.nodesDone === p.nodesTotal) {
        final = p;
        return;
      }
      const now = Date.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      draw(p);
    },
    end() {
      if (final) draw(final, true);
      if (drawn) ctx.streams.stderr.write('\n');
    },
  };
}

async function run(ctx: CommandContext, targetText: string, src: string, dest: string, opts: CpOptions) {
  let mode: number | undefined;
  if (opts.mode !== undefined) {
    if (!/^[0-7]{3,4}$/.test(opts.mode))
      throw badInput(`--mode "${opts.mode}" is not an octal file mode`, 'write it like 0644 or 755');
    mode = Number.parseInt(opts.mode, 8);
  }
  const settings = fleetSettings(opts);
  const { finish, openFleetSession, tally } = await import('../fleet-session.js');
  const session = await openFleetSession(ctx, targetText, 'cp', settings);
  const progress = progressReporter(ctx);
  const started = Date.now();
  let results: Awaited<ReturnType<typeof session.fleet.put>>;
  try {
    results = await session.fleet.put(session.targets, src, dest, {
      ...(mode !== undefined ? { mode } : {}),
      ...(settings.sudo ? { sudo: true } : {}),
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
      signal: session.signal,
      onProgress: (p) => progress.update(p),
      onResult: (r) => {
        if (r.error) progress.nodeFailed();
      },
    });
  } finally {
    progress.end();
    await session.close();
  }
  const secs = (Date.now() - started) / 1000;
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  // JSON and table say the same words: unchanged (already identical there), result ok or the failure kind.
  const rows = results.map((r) => ({
    node: r.node,
    ip: r.ip,
    sent: r.sent,
    unchanged: r.skipped,
    bytes: r.bytes,
    durationMs: r.durationMs,
    result: r.error ? r.error.kind : 'ok',
    ...(r.error ? { error: r.error.message } : {}),
  }));
  ctx.out.result(rows, rows, [
    { header: 'NODE', value: (r) => r.node },
    { header: 'IP', value: (r) => r.ip },
    { header: 'SENT', value: (r) => String(r.sent) },
    { header: 'UNCHANGED', value: (r) => String(r.unchanged) },
    { header: 'MB', value: (r) => mb(r.bytes) },
    { header: 'RESULT', value: (r) => r.result },
  ]);
  const t = tally(results);
  const rate = `${mb(bytes)} MB in ${secs.toFixed(1)} s (${mb(bytes / Math.max(secs, 0.001))} MB/s)`;
  if (t.failures.length === 0) ctx.out.info(`copied ${rate}; sha256 verified on every node`);
  else if (t.ok)
    ctx.out.info(`copied ${rate} to ${t.ok} of ${plural(results.length, 'node')}; sha256 verified on those`);
  finish(ctx, 'cp', t, session.targets.length, session);
}

export function cpCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('cp')
    .summary('copy a file or directory to selected nodes, sha256-checked')
    .description(
      'copy a file or directory to selected nodes: sent once per node, sha256-checked there, renamed into place. ' +
        'A file goes to DEST (inside it if DEST ends with / or is a directory); a directory is merged into DEST',
    )
    .argument('<target>', 'CLUSTER@SELECTOR, e.g. prod@workers')
    .argument('<src>', 'local file or directory')
    .argument('<dest>', 'absolute path on the nodes')
    .option('--mode <octal>', "mode of every copied file (default: keep the local file's mode)");
  addFleetFlags(cmd, { sudo: true });
  cmd.option('--ask-pass', ASK_PASS_HELP);
  cmd.action(async (target: string, src: string, dest: string, opts: CpOptions, c: Command) => {
    const ctx = makeCtx(c);
    await run(opts.askPass ? await withAskedPassword(ctx) : ctx, target, src, dest, opts);
  });
  return cmd;
}
