import type { HeldLock } from '../cluster/lock.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterPaths, Store } from '../cluster/store.js';
import { clusterFleetOptions, type FleetSettings, jumpHostOf, secretsOf } from '../fleet/cluster.js';
import { Fleet } from '../fleet/fleet.js';
import { FileLog, type FleetLogger, MemoryLog, type Redactor } from '../fleet/log.js';
import { raw } from '../fleet/script.js';
import type { FleetTarget } from '../fleet/types.js';
import { cleanupScript } from '../phases/distribute.js';

/**
 * One place that sets up what every command touching nodes needs: the cluster lock (when the
 * command changes things), the redactor built from every secret in play, the per-command log and the
 * fleet. Commands and phases get a `Session` and never build these themselves.
 */

/** What a session needs from the command that opens it (a subset of the CLI's context). */
export interface SessionHost {
  store: Store;
  env: NodeJS.ProcessEnv;
  commandLine: string;
  warn(msg: string): void;
}

export interface SessionOptions {
  /** Log file name part, e.g. `create`, `exec`. */
  command: string;
  settings: FleetSettings;
  /** Every node the session may contact (for the redactor). */
  targets: readonly FleetTarget[];
  /**
   * Take the cluster's lock for the session's lifetime: the session may change nodes, so it also
   * sweeps what earlier runs left on every node it contacts.
   */
  lock?: boolean;
  /** Keep log events in memory (for a cluster that may not be stored in the end). */
  memoryLog?: boolean;
  /** Pin host keys in the cluster's known_hosts (default true). */
  knownHosts?: boolean;
}

export interface Session {
  spec: ClusterSpec;
  paths: ClusterPaths;
  fleet: Fleet;
  log: FleetLogger;
  redactor: Redactor;
  redact(text: string): string;
  /** Host key pins as known_hosts text, for writing them when a memory-log session is stored. */
  pinsText(): string;
  close(): Promise<void>;
}

/** A killed create can leave its artifact fan-out key and staging behind: swept on first contact. */
export function fanoutSweep(t: FleetTarget) {
  return raw(cleanupScript(t.user).text);
}

export async function openSession(
  host: SessionHost,
  spec: ClusterSpec,
  opts: SessionOptions,
): Promise<Session> {
  const paths = host.store.paths(spec.name);
  const lock: HeldLock | undefined = opts.lock
    ? await host.store.lock(spec.name, host.commandLine)
    : undefined;
  try {
    const redactor = secretsOf(opts.targets, jumpHostOf(spec, host.env));
    let log: FleetLogger;
    if (opts.memoryLog) log = new MemoryLog(redactor);
    else {
      await host.store.ensureClusterDirs(spec.name);
      log = FileLog.open(paths.logs, opts.command, redactor);
    }
    log.write({ event: 'start', command: host.commandLine, nodes: opts.targets.length });
    if (opts.settings.insecureIgnoreHostKey)
      host.warn(
        '--insecure-ignore-hostkey: host keys are not checked or pinned; anyone on the path can impersonate nodes',
      );
    const fleetOptions = await clusterFleetOptions(
      spec,
      opts.knownHosts === false ? undefined : paths.knownHosts,
      opts.settings,
      host.env,
      log,
    );
    const fleet = new Fleet({ ...fleetOptions, sweep: fanoutSweep, sweepOnConnect: Boolean(opts.lock) });
    let closed = false;
    return {
      spec,
      paths,
      fleet,
      log,
      redactor,
      redact: (t) => redactor.redact(t),
      pinsText: () => fleetOptions.hostKeys.pins.text,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await fleet.close();
          log.write({ event: 'end' });
          log.close();
        } finally {
          lock?.release();
        }
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}
