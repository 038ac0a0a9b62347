import { Command } from 'commander';
import pc from 'picocolors';
import { badInput } from '../../core/errors.js';
import { script, userCommand } from '../../fleet/script.js';
import type { FleetTarget, RunResult } from '../../fleet/types.js';
import { ASK_PASS_HELP, withAskedPassword } from '../ask-pass.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { colorWanted } from '../output.js';

interface ExecOptions extends FleetFlagValues {
  askPass?: boolean;
  group?: boolean;
}

const PALETTE = ['cyan', 'magenta', 'green', 'yellow', 'blue', 'red'] as const;

function useColor(ctx: CommandContext): boolean {
  return colorWanted(ctx.streams.stdout, ctx.env);
}

async function run(
  ctx: CommandContext,
  targetText: string,
  argv: string[],
  opts: ExecOptions,
): Promise<void> {
  if (argv.length === 0)
    throw badInput('no command given', `write kubeon exec ${targetText} -- COMMAND [ARGS...]`);
  const settings = fleetSettings(opts);
  const { finish, openFleetSession, tally } = await import('../fleet-session.js');
  const session = await openFleetSession(ctx, targetText, 'exec', settings);
  const { fleet, targets } = session;
  const json = ctx.out.format !== 'table';
  const paint = pc.createColors(useColor(ctx));
  const width = Math.max(...targets.map((t) => t.name.length));
  const prefix = new Map<string, string>();
  for (const [i, t] of targets.entries()) {
    const colour = PALETTE[i % PALETTE.length]!;
    prefix.set(t.name, `${paint[colour](t.name.padEnd(width))} | `);
  }
  const stream = !json && !opts.group;
  const s = script(`exec: ${argv.join(' ')}`, userCommand(argv));
  let results: RunResult[];
  try {
    results = await fleet.run(targets, s, {
      signal: session.signal,
      ...(settings.sudo ? { sudo: true } : {}),
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
      ...(stream
        ? {
            onStdout: (t: FleetTarget, line: string) =>
              ctx.streams.stdout.write(`${prefix.get(t.name)}${line}\n`),
            onStderr: (t: FleetTarget, line: string) =>
              ctx.streams.stderr.write(`${prefix.get(t.name)}${line}\n`),
          }
        : {}),
    });
  } finally {
    await session.close();
  }
  if (json) {
    const rows = results.map((r) => ({
      node: r.node,
      ip: r.ip,
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      durationMs: r.durationMs,
      ...(r.error ? { error: r.error } : {}),
    }));
    ctx.out.result(session.redactValue(rows), [], []);
  } else if (opts.group) {
    for (const r of results) {
      const status = r.error
        ? `${r.error.kind}${r.exitCode !== null ? `, exit ${r.exitCode}` : ''}`
        : 'exit 0';
      ctx.streams.stdout.write(`${paint.bold(`=== ${r.node} (${r.ip}) ${status}`)}\n`);
      if (r.stdout) ctx.streams.stdout.write(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
      if (r.stderr) ctx.streams.stderr.write(r.stderr.endsWith('\n') ? r.stderr : `${r.stderr}\n`);
    }
  }
  // Every node's output was printed (streamed, grouped or in JSON), so the log holds nothing more.
  finish(ctx, 'exec', tally(results), targets.length, session, { outputShown: true });
}

export function execCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('exec')
    .summary('run a command on selected nodes in parallel')
    .description(
      'run a command on selected nodes in parallel. One argument is a shell command line (pipes, $VARS); several are run as an exact argv, each quoted',
    )
    .argument('<target>', 'CLUSTER@SELECTOR, e.g. prod@all, prod@masters, prod@name=a,b')
    .argument('<command...>', 'the command, after --')
    .option('--group', "print each node's output as one block, in node order, after all finish")
    .usage('[options] CLUSTER@SELECTOR -- COMMAND [ARGS...]');
  addFleetFlags(cmd, { sudo: true });
  cmd.option('--ask-pass', ASK_PASS_HELP);
  cmd.action(async (target: string, command: string[], opts: ExecOptions, c: Command) => {
    const ctx = makeCtx(c);
    await run(opts.askPass ? await withAskedPassword(ctx) : ctx, target, command, opts);
  });
  return cmd;
}
