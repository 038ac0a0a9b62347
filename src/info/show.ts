import YAML from 'yaml';
import { clusterNodes } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { type FleetSettings, nodeName, targetOf } from '../fleet/cluster.js';
import type { ProbeNode } from '../ha/health-probe.js';
import type { PhaseFleet } from '../phases/phase.js';
import { openSession, type SessionHost } from '../session/session.js';
import { collectInfo, type InfoSources } from './collect.js';
import { readCredentials } from './kube.js';
import { renderInfo } from './render.js';
import type { HaWorkerHealth, InfoReport } from './summary.js';

export interface ShowHost extends SessionHost {
  format: 'table' | 'json' | 'yaml';
  /** Colour and screen redraws: stdout is a terminal and NO_COLOR is not set. */
  tty: boolean;
  write(text: string): void;
}

export interface ShowOptions {
  settings: FleetSettings;
  watch: boolean;
  intervalMs: number;
  /** Ends a --watch (Ctrl-C); without it the loop ends on SIGINT. */
  signal?: AbortSignal;
}

function print(host: ShowHost, report: InfoReport, redraw: boolean): void {
  if (host.format === 'json') host.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (host.format === 'yaml') host.write(`${redraw ? '---\n' : ''}${YAML.stringify(report)}`);
  else host.write(`${redraw && host.tty ? '\x1b[H\x1b[2J' : ''}${renderInfo(report, host.tty)}`);
}

export async function showInfo(host: ShowHost, spec: ClusterSpec, opts: ShowOptions): Promise<void> {
  const paths = host.store.paths(spec.name);
  const state = await host.store.readState(spec.name);
  const credentials = await readCredentials(paths.kubeconfig);
  const nodes = clusterNodes(spec).map((n) => ({
    node: { ...n, name: nodeName(n, state) },
    target: targetOf(n, state, host.env),
  }));
  const masters = nodes
    .filter((n) => n.node.role === 'master')
    .map((n) => ({ name: n.node.name, ip: n.node.ip, target: n.target }));
  const session = await openSession(host, spec, {
    command: 'info',
    settings: opts.settings,
    targets: nodes.map((n) => n.target),
  });
  const haProbe = () => haWorkers(spec, session.fleet, nodes, opts.settings);
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  if (opts.watch && !opts.signal) process.once('SIGINT', onSigint);
  const signal = opts.signal ?? stop.signal;
  try {
    for (let round = 0; ; round++) {
      const sources: InfoSources = {
        spec,
        state: round === 0 ? state : await host.store.readState(spec.name),
        paths,
        fleet: session.fleet,
        masters,
        credentials,
        haProbe,
        now: new Date(),
      };
      print(host, session.redactor.redactValue(await collectInfo(sources)), round > 0);
      if (!opts.watch || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.intervalMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
      if (signal.aborted) return;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await session.close();
  }
}

/** The HA mode's own probe, as one line per worker: where its endpoint points and what it reaches. */
async function haWorkers(
  spec: ClusterSpec,
  fleet: Pick<PhaseFleet, 'run'>,
  nodes: ProbeNode[],
  settings: FleetSettings,
): Promise<HaWorkerHealth[]> {
  const { probeHa } = await import('../ha/health-probe.js');
  const health = await probeHa({ spec, fleet, nodes, sudo: Boolean(settings.sudo) });
  return health.workers.map((w) => ({
    node: w.node,
    healthy: w.ok,
    detail:
      w.problem ??
      `${w.route}${w.resolvesTo ? ` (${w.resolvesTo})` : ''}: reaches ${w.reaches.join(', ') || 'no master'}`,
  }));
}
