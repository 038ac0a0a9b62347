import type { Host } from '../cluster/host.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { Session, SessionHost } from '../session/session.js';
import type { PhaseContext } from './phase.js';

/** A command's phase context: everything but its own `data` comes from the session and the host. */
export function sessionContext<D>(
  host: SessionHost & { info(msg: string): void },
  session: Session,
  abort: AbortController,
  spec: ClusterSpec,
  data: D,
  opts: { hosts?: Host[]; dryRun?: boolean } = {},
): PhaseContext<D> {
  return {
    spec,
    paths: session.paths,
    store: host.store,
    env: host.env,
    fleet: session.fleet,
    log: session.log,
    hosts: opts.hosts ?? [],
    data,
    dryRun: Boolean(opts.dryRun),
    signal: abort.signal,
    now: () => new Date(),
    warn: (m) => host.warn(m),
    info: (m) => host.info(m),
  };
}
