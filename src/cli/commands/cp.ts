import { Command } from 'commander';
import { badInput } from '../../core/errors.js';
import type { PutProgress } from '../../fleet/fleet.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { finish, openFleetSession, tally } from '../fleet-session.js';

interface CpOptions extends FleetFlagValues {
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
  let last = 0;
  let drawn = false;
  const line = (p: PutProgress) => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const pct = p.total ? Math.floor((p.done / p.total) * 100) : 100;
    const speed = `${mb(p.sent / secs)} MB/s`;
    return { pct, text: `${mb(p.done)}/${mb(p.total)} MB  ${speed}  ${p.nodesDone}/${p.nodesTotal} nodes` };
  };
  return {
    update(p: PutProgress) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 5000) && p.nodesDone < p.nodesTotal) return;
      last = now;
      const { pct, text } = line(p);
      if (tty) {
        const filled = Math.round(pct / 5);
        ctx.streams.stderr.write(
          `\r[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${String(pct).padStart(3)}%  ${text}\x1b[K`,
        );
        drawn = true;
      } else {
        ctx.streams.stderr.write(`copy: ${pct}%  ${text}\n`);
      }
    },
    end() {
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
  const session = await openFleetSession(ctx, targetText, 'cp', settings);
  const progress = progressReporter(ctx);
  const started = Date.now();
  let results: Awaited<ReturnType<typeof session.fleet.put>>;
  try {
    results = await session.fleet.put(session.targets, src, dest, {
      ...(mode !== undefined ? { mode } : {}),
      ...(settings.sudo ? { sudo: true } : {}),
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.end();
    await session.close();
  }
  const secs = (Date.now() - started) / 1000;
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  ctx.out.result(results, results, [
    { header: 'NODE', value: (r) => r.node },
    { header: 'IP', value: (r) => r.ip },
    { header: 'SENT', value: (r) => String(r.sent) },
    { header: 'UNCHANGED', value: (r) => String(r.skipped) },
    { header: 'MB', value: (r) => mb(r.bytes) },
    { header: 'RESULT', value: (r) => (r.error ? r.error.kind : 'ok') },
  ]);
  const verified = results.filter((r) => !r.error).length;
  ctx.out.info(
    `copied ${mb(bytes)} MB in ${secs.toFixed(1)} s (${mb(bytes / Math.max(secs, 0.001))} MB/s); sha256 verified on ${verified} of ${results.length} node(s)`,
  );
  finish(ctx, 'cp', tally(results), session.targets.length, session);
}

export function cpCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('cp')
    .description(
      'copy a file or directory to selected nodes: sent once per node, sha256-checked there, renamed into place. ' +
        'A file goes to DEST (inside it if DEST ends with / or is a directory); a directory is merged into DEST',
    )
    .argument('<target>', 'CLUSTER@SELECTOR, e.g. prod@workers')
    .argument('<src>', 'local file or directory')
    .argument('<dest>', 'absolute path on the nodes')
    .option('--mode <octal>', "mode of every copied file (default: keep the local file's mode)");
  addFleetFlags(cmd, { sudo: true });
  cmd.action(async (target: string, src: string, dest: string, opts: CpOptions, c: Command) => {
    await run(makeCtx(c), target, src, dest, opts);
  });
  return cmd;
}
