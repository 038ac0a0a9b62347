import { Command } from 'commander';
import { badInput, KubeonError } from '../../core/errors.js';
import type { FleetTarget } from '../../fleet/types.js';
import type { Session } from '../../session/session.js';
import { type CommandContext, type ContextFactory, sessionHost } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { askLine } from '../prompt.js';

/**
 * `kubeon etcd NAME ACTION`: the cluster's stacked etcd, reached from this machine through SSH
 * tunnels to the masters (src/etcd/connect.ts). `-- ARGS` runs etcdctl on the first master instead.
 */

const ACTIONS = ['members', 'health', 'status', 'snapshot', 'defrag'] as const;
type Action = (typeof ACTIONS)[number];

interface EtcdOptions extends FleetFlagValues {
  keep?: string;
  yes?: boolean;
}

interface Parsed {
  name: string | undefined;
  action: Action | '--';
  rest: string[];
}

/**
 * commander drops `--`; what followed it is read from the raw command line so that etcdctl gets
 * every word verbatim, including its own flags.
 */
export function parseEtcdWords(words: readonly string[], rawArgs: readonly string[]): Parsed {
  const dash = rawArgs.indexOf('--');
  if (dash >= 0) {
    const passed = rawArgs.slice(dash + 1);
    const before = words.slice(0, words.length - passed.length);
    if (before.length > 1)
      throw badInput(
        `"${before.slice(1).join(' ')}" before -- is not understood`,
        'write kubeon etcd NAME -- ETCDCTL ARGS',
      );
    if (passed.length === 0) throw badInput('nothing after --', 'write kubeon etcd NAME -- member list');
    return { name: before[0], action: '--', rest: passed };
  }
  const known = (w: string | undefined): w is Action => ACTIONS.includes(w as Action);
  const [first, second, ...more] = words;
  if (known(first))
    return { name: undefined, action: first, rest: [second, ...more].filter((w) => w !== undefined) };
  if (known(second)) return { name: first, action: second, rest: more };
  throw badInput(
    `"${words.join(' ')}" names no etcd action`,
    `write kubeon etcd NAME ${ACTIONS.join('|')}, or kubeon etcd NAME -- ETCDCTL ARGS`,
  );
}

function unhealthy(members: string[], total: number): void {
  if (members.length)
    throw new KubeonError(
      `${members.length} of ${total} etcd member(s) did not answer: ${members.join(', ')}`,
      {
        hint: 'see the ERROR column; check those masters and their etcd static pods',
      },
    );
}

function parseKeep(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw badInput(`--keep "${text}" is not a count`, 'write --keep 5 (at least 1)');
  return n;
}

async function openEtcdSession(ctx: CommandContext, name: string, opts: EtcdOptions, lock: boolean) {
  const spec = await ctx.store.readSpec(name);
  const state = await ctx.store.readState(name);
  const { masterTargets } = await import('../../etcd/connect.js');
  const { openSession } = await import('../../session/session.js');
  const masters = masterTargets(spec, state, ctx.env);
  const session = await openSession(sessionHost(ctx), spec, {
    command: 'etcd',
    settings: fleetSettings(opts),
    targets: masters,
    lock,
  });
  return { session, masters, state };
}

async function confirm(ctx: CommandContext, opts: EtcdOptions, name: string, file: string): Promise<void> {
  if (opts.yes || ctx.yes) return;
  if (!ctx.streams.stdin.isTTY)
    throw badInput(
      `restoring etcd of "${name}" needs confirmation`,
      'add --yes when running without a terminal',
    );
  const answer = await askLine(
    ctx,
    `replace all data of cluster "${name}" with ${file}? every change since the snapshot is lost; type the cluster name to confirm: `,
  );
  if (answer !== name)
    throw badInput('not confirmed; nothing was changed', `type "${name}" exactly, or pass --yes`);
}

async function run(ctx: CommandContext, name: string, parsed: Parsed, opts: EtcdOptions): Promise<void> {
  const etcd = await import('../../etcd/connect.js');
  const report = await import('../../etcd/report.js');
  const { action, rest } = parsed;
  const restore = action === 'snapshot' && rest[0] === 'restore';
  if (action === 'snapshot') {
    if (rest[0] !== 'save' && rest[0] !== 'restore')
      throw badInput(
        `snapshot "${rest[0] ?? ''}" is not an action`,
        'write snapshot save [FILE] or snapshot restore FILE',
      );
    if (restore && rest.length !== 2)
      throw badInput('snapshot restore needs one FILE', 'write kubeon etcd NAME snapshot restore FILE');
    if (rest.length > 2)
      throw badInput(`unexpected "${rest.slice(2).join(' ')}"`, 'write snapshot save [FILE]');
  } else if (action !== '--' && rest.length)
    throw badInput(`unexpected "${rest.join(' ')}" after ${action}`, `write kubeon etcd NAME ${action}`);
  const keep = parseKeep(opts.keep);

  const { session, masters, state } = await openEtcdSession(ctx, name, opts, restore || action === 'defrag');
  try {
    if (action === '--') return await passToEtcdctl(ctx, session, masters, rest, Boolean(opts.sudo));
    if (restore) {
      const { restoreSnapshot } = await import('../../etcd/restore.js');
      const { clusterNodes } = await import('../../cluster/nodes.js');
      const { nodeName } = await import('../../fleet/cluster.js');
      const { client, endpoints } = await etcd.etcdClientFor(session, masters);
      const nodes = clusterNodes(session.spec).filter((n) => n.role === 'master');
      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const result = await restoreSnapshot(
        { fleet: session.fleet, client, endpoints },
        {
          file: rest[1]!,
          masters: nodes.map((n, i) => ({ name: nodeName(n, state), ip: n.ip, target: masters[i]! })),
          stamp,
          sudo: Boolean(opts.sudo),
          progress: (m) => ctx.out.info(m),
          confirm: () => confirm(ctx, opts, name, rest[1]!),
        },
      );
      for (const k of result.kept) ctx.out.info(`${k.node}: the data before the restore is kept in ${k.dir}`);
      ctx.out.info(
        `etcd of cluster "${name}" restored from ${rest[1]} on ${result.members.length} master(s)`,
      );
      return;
    }
    return await etcd.withEtcd(session, masters, async (e) => {
      switch (action) {
        case 'members': {
          const rows = await e.client.members(e.endpoint);
          ctx.out.result(rows, rows, [
            { header: 'ID', value: (r) => r.id },
            { header: 'NAME', value: (r) => r.name },
            { header: 'PEER URLS', value: (r) => r.peerUrls.join(',') },
            { header: 'CLIENT URLS', value: (r) => r.clientUrls.join(',') },
            { header: 'LEARNER', value: (r) => (r.isLearner ? 'yes' : 'no') },
          ]);
          return;
        }
        case 'health': {
          const rows = await report.healthOfAll(e.client, e.endpoints);
          ctx.out.result(rows, rows, [
            { header: 'MEMBER', value: (r) => r.member },
            { header: 'HEALTHY', value: (r) => String(r.healthy) },
            { header: 'TOOK', value: (r) => `${r.tookMs}ms` },
            { header: 'ERROR', value: (r) => r.error ?? '' },
          ]);
          unhealthy(
            rows.filter((r) => !r.healthy).map((r) => r.member),
            rows.length,
          );
          return;
        }
        case 'status': {
          const rows = await report.statusOfAll(e.client, e.endpoints);
          ctx.out.result(rows, rows, [
            { header: 'MEMBER', value: (r) => r.member },
            { header: 'ID', value: (r) => r.status?.memberId ?? '' },
            { header: 'VERSION', value: (r) => r.status?.version ?? '' },
            { header: 'DB SIZE', value: (r) => (r.status ? report.formatBytes(r.status.dbSize) : '') },
            { header: 'LEADER', value: (r) => (r.status ? String(r.status.isLeader) : '') },
            { header: 'RAFT TERM', value: (r) => String(r.status?.raftTerm ?? '') },
            { header: 'RAFT INDEX', value: (r) => String(r.status?.raftIndex ?? '') },
            { header: 'ERRORS', value: (r) => r.error ?? r.status?.errors.join('; ') ?? '' },
          ]);
          unhealthy(
            rows.filter((r) => !r.status).map((r) => r.member),
            rows.length,
          );
          return;
        }
        case 'defrag': {
          const rows = await report.defragAll(e.client, e.endpoints, (m) => ctx.out.info(m));
          ctx.out.result(rows, rows, [
            { header: 'MEMBER', value: (r) => r.member },
            { header: 'DB SIZE BEFORE', value: (r) => report.formatBytes(r.before) },
            { header: 'AFTER', value: (r) => report.formatBytes(r.after) },
          ]);
          return;
        }
        case 'snapshot': {
          const { saveClusterSnapshot } = await import('../../etcd/save.js');
          ctx.out.info(`saving a snapshot from ${e.endpoint.name}`);
          const saved = await saveClusterSnapshot(e, {
            clusterDir: session.paths.dir,
            ...(rest[1] !== undefined ? { file: rest[1] } : {}),
            ...(keep !== undefined ? { keep } : {}),
            now: new Date(),
          });
          for (const p of saved.pruned) ctx.out.detail(`removed the older snapshot ${p}`);
          ctx.out.result(
            saved,
            [saved],
            [
              { header: 'FILE', value: (r) => r.path },
              { header: 'SIZE', value: (r) => report.formatBytes(r.bytes) },
              { header: 'SHA256', value: (r) => r.sha256 },
              { header: 'FROM', value: (r) => r.member },
            ],
          );
          return;
        }
      }
    });
  } finally {
    await session.close();
  }
}

/** Runs etcdctl on the first master that answers over SSH; its output and exit code are etcdctl's. */
async function passToEtcdctl(
  ctx: CommandContext,
  session: Session,
  masters: readonly FleetTarget[],
  args: string[],
  sudo: boolean,
): Promise<void> {
  const { etcdctlScript } = await import('../../etcd/scripts.js');
  const reasons: string[] = [];
  for (const m of masters) {
    const [r] = await session.fleet.run([m], etcdctlScript(args), { sudo });
    if (r!.exitCode === null) {
      reasons.push(`${m.name}: ${r!.error?.message ?? 'did not finish'}`);
      continue;
    }
    ctx.streams.stdout.write(r!.stdout);
    ctx.streams.stderr.write(r!.stderr);
    if (r!.exitCode !== 0)
      throw new KubeonError(`etcdctl exited with ${r!.exitCode} on ${m.name}`, {
        hint: 'its own message is above; see etcdctl --help for its arguments',
      });
    return;
  }
  throw new KubeonError(`etcdctl could not run on any master (${reasons.join('; ')})`, {
    hint: 'check that the masters are reachable (kubeon exec NAME@masters true)',
  });
}

export function etcdCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('etcd')
    .description(
      'etcd members, health, status, snapshot save and restore, defrag; -- ARGS runs etcdctl on a master',
    )
    .usage('[name] members|health|status|defrag|snapshot save [FILE]|snapshot restore FILE|-- ETCDCTL ARGS')
    .argument('[words...]', 'cluster name (default: the current cluster), then the action')
    .option(
      '--keep <n>',
      'snapshot save: how many snapshots to keep under clusters/NAME/backups/ (default 5)',
    )
    .option('-y, --yes', 'snapshot restore: do not ask for confirmation');
  addFleetFlags(cmd, { sudo: true });
  cmd.action(async (words: string[], opts: EtcdOptions, command: Command) => {
    const ctx = makeCtx(command);
    // commander keeps the raw words on the root command without typing them.
    const rawArgs = (command.parent as (Command & { rawArgs?: string[] }) | null)?.rawArgs ?? [];
    const parsed = parseEtcdWords(words, rawArgs);
    const { clusterOrCurrent } = await import('../current.js');
    const name = await clusterOrCurrent(ctx, parsed.name);
    await ctx.store.requireCluster(name);
    await run(ctx, name, parsed, opts);
  });
  return cmd;
}
