import { Command } from 'commander';
import { type ClusterNode, clusterNodes } from '../../cluster/nodes.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import type { ClusterState } from '../../cluster/state.js';
import { whoAmI } from '../../cluster/who.js';
import { badInput, KubeonError } from '../../core/errors.js';
import type { FleetSettings } from '../../fleet/cluster.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { CertRow } from '../../pki/inventory.js';
import type { MasterTarget } from '../../pki/operations.js';
import { type CommandContext, type ContextFactory, sessionHost } from '../context.js';
import { clusterOrCurrent } from '../current.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';

interface CertsOptions extends FleetFlagValues {
  nodes?: string | boolean;
  place?: boolean;
  readyzTimeout?: string;
  settle?: string;
}

type Arg = string | undefined;

type FleetCluster = typeof import('../../fleet/cluster.js');

async function mastersOf(
  fc: FleetCluster,
  spec: ClusterSpec,
  state: ClusterState | undefined,
  selector: string,
  env: NodeJS.ProcessEnv,
): Promise<MasterTarget[]> {
  // Selectors parse addresses with ipaddr.js, which neither --help nor the other commands load.
  const { parseSelector, selectNodes } = await import('../../cluster/selectors.js');
  const all = clusterNodes(spec);
  const picked = selectNodes(all, parseSelector(selector), selector).filter((n) => n.role === 'master');
  if (picked.length === 0) {
    throw badInput(
      `selector "${selector}" picks no master`,
      'certificates live on masters; use e.g. --nodes masters',
    );
  }
  return picked.map((n: ClusterNode) => {
    const name = fc.nodeName(n, state);
    if (n.name === undefined && state?.nodes[n.ip]?.name === undefined) {
      throw badInput(
        `the name of master ${n.ip} is not known yet`,
        `give it a name in cluster.yaml, or let kubeon create ${spec.name} register the nodes first`,
      );
    }
    return { node: { name, ip: n.ip }, target: fc.targetOf(n, state, env), index: n.index };
  });
}

/** The SSH stack is loaded only when a command goes to the nodes, so local listing stays light. */
function loadFleetCluster(): Promise<FleetCluster> {
  return import('../../fleet/cluster.js');
}

async function withFleet<T>(
  ctx: CommandContext,
  spec: ClusterSpec,
  masters: MasterTarget[],
  settings: FleetSettings,
  command: string,
  fn: (fleet: Fleet) => Promise<T>,
): Promise<T> {
  const { openSession } = await import('../../session/session.js');
  const session = await openSession(sessionHost(ctx), spec, {
    command,
    settings,
    targets: masters.map((m) => m.target),
  });
  try {
    return await fn(session.fleet);
  } finally {
    await session.close();
  }
}

async function printRows(ctx: CommandContext, rows: CertRow[]): Promise<void> {
  const { formatResidual } = await import('../../pki/inventory.js');
  const data = rows.map((r) => ({ ...r, residual: formatResidual(r.residualSeconds) }));
  const columns = [
    { header: 'WHERE', value: (r: (typeof data)[number]) => r.where },
    { header: 'NAME', value: (r: (typeof data)[number]) => r.name },
    { header: 'SUBJECT', value: (r: (typeof data)[number]) => r.subject },
    ...(ctx.out.verbose > 0
      ? [{ header: 'SANS', value: (r: (typeof data)[number]) => r.sans.join(',') }]
      : []),
    {
      header: 'EXPIRES',
      value: (r: (typeof data)[number]) => r.notAfter.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    },
    { header: 'RESIDUAL', value: (r: (typeof data)[number]) => r.residual },
    { header: 'SIGNER', value: (r: (typeof data)[number]) => r.signer },
  ];
  ctx.out.result(data, data, columns);
}

export function certsCommand(makeCtx: ContextFactory): Command {
  const cmd: Command = new Command('certs')
    .description('show the expiry of every certificate and kubeconfig; renew re-issues and rolls them out')
    .argument('[name]', 'cluster name (default: the current cluster)')
    .argument(
      '[action]',
      'renew: re-issue leaves from the existing CAs, place them, restart masters one by one',
    )
    .option(
      '--nodes [selector]',
      'list: also read the certificates on the masters over SSH; renew: which masters (default: all masters)',
    )
    .option('--no-place', 'renew: only re-issue on this machine, do not touch the nodes')
    .option('--readyz-timeout <seconds>', 'renew: how long to wait for each API server to be ready', '300')
    .option(
      '--settle <seconds>',
      'renew, on nodes without a working crictl: how long kubelet gets to stop the static pods',
      '20',
    );
  addFleetFlags(cmd);
  cmd.action(async (nameArg: Arg, actionArg: Arg, opts: CertsOptions, command: Command) => {
    const ctx = makeCtx(command);
    // `kubeon certs renew` renews the current cluster's, unless a cluster is called renew.
    const actionOnly = nameArg === 'renew' && actionArg === undefined && !ctx.store.exists(nameArg);
    const name = await clusterOrCurrent(ctx, actionOnly ? undefined : nameArg);
    const action = actionOnly ? 'renew' : actionArg;
    const settings = fleetSettings(opts);
    const paths = await ctx.store.requireCluster(name);
    const spec = await ctx.store.readSpec(name);
    const state = await ctx.store.readState(name);
    const version = state?.kubernetesVersion ?? spec.version;
    const selector = typeof opts.nodes === 'string' ? opts.nodes : 'masters';
    const now = new Date();
    if (action === undefined) {
      const { localInventory } = await import('../../pki/inventory.js');
      const { readNodeCerts } = await import('../../pki/operations.js');
      const rows = await localInventory(paths.pki, paths.kubeconfig, now);
      if (opts.nodes !== undefined) {
        const masters = await mastersOf(await loadFleetCluster(), spec, state, selector, ctx.env);
        const remote = await withFleet(ctx, spec, masters, settings, 'certs', (fleet) =>
          readNodeCerts(fleet, paths.pki, masters, now, settings.timeoutMs),
        );
        rows.push(...remote.rows);
        for (const f of remote.failures) ctx.out.warn(`${f.node}: ${f.message}`);
        await printRows(ctx, rows);
        if (remote.failures.length) {
          throw new KubeonError(`could not read the certificates of ${remote.failures.length} master(s)`, {
            hint: 'see the warnings above and the log in the cluster logs/ directory',
          });
        }
        return;
      }
      if (rows.length === 0)
        ctx.out.info(`cluster ${name} has no certificates yet (kubeon create makes them)`);
      await printRows(ctx, rows);
      return;
    }
    if (action !== 'renew') throw badInput(`unknown certs action "${action}"`, 'the only action is renew');
    const timeout = Number(opts.readyzTimeout);
    if (!Number.isInteger(timeout) || timeout <= 0) {
      throw badInput(`--readyz-timeout ${opts.readyzTimeout} is not a whole number of seconds`, 'e.g. 300');
    }
    const settle = Number(opts.settle);
    if (!Number.isInteger(settle) || settle < 0) {
      throw badInput(`--settle ${opts.settle} is not a whole number of seconds`, 'e.g. 20');
    }
    const masters = await mastersOf(await loadFleetCluster(), spec, state, selector, ctx.env);
    const { renewCertificates } = await import('../../pki/operations.js');
    const lock = await ctx.store.lock(name, ctx.commandLine);
    try {
      const renewOpts = {
        now,
        who: whoAmI(ctx.env),
        place: opts.place !== false,
        readyzTimeoutMs: timeout * 1000,
        settleSeconds: settle,
        ...(settings.timeoutMs !== undefined ? { stepTimeoutMs: settings.timeoutMs } : {}),
        progress: (msg: string) => ctx.out.info(msg),
      };
      const result =
        opts.place === false
          ? await renewCertificates(undefined, paths, spec, version, masters, renewOpts)
          : await withFleet(ctx, spec, masters, settings, 'certs-renew', (fleet) =>
              renewCertificates(fleet, paths, spec, version, masters, renewOpts),
            );
      ctx.out.info(
        `renewed ${result.written.length} file(s)${result.placed.length ? `; placed and restarted: ${result.placed.join(', ')}` : ''}`,
      );
    } finally {
      lock.release();
    }
  });
  return cmd;
}
