import { KubeonError } from '../core/errors.js';

/**
 * The one way kubeon changes masters of a live cluster (certs renew, upgrade, add): one master at a
 * time, each followed by a wait for its API server's /readyz, so at most one control plane is ever
 * down. The first master that fails stops the roll with a hint naming it; the masters after it are
 * not touched.
 */

export interface RolledMaster {
  node: { name: string; ip: string };
}

export interface RollOptions<M extends RolledMaster> {
  /** What is done to each master, for messages: "the upgrade", "the restart". */
  what: string;
  /** The change on one master; throws when it fails. */
  step(m: M): Promise<void>;
  /** Polls the master's /readyz; false when it did not answer 200 in time. */
  readyz(m: M): Promise<boolean>;
  /** How the user continues once the named master is fixed. */
  hint(m: M): string;
  progress?(msg: string): void;
}

/** Rolls through `masters` in order; returns the names of those it finished. */
export async function rollMasters<M extends RolledMaster>(
  masters: readonly M[],
  o: RollOptions<M>,
): Promise<string[]> {
  const done: string[] = [];
  for (const m of masters) {
    const { name, ip } = m.node;
    const untouched = masters.length > done.length + 1 ? '; the masters after it were not touched' : '';
    try {
      await o.step(m);
    } catch (err) {
      const e = err as Error;
      throw new KubeonError(`${o.what} of ${name} failed: ${e.message}`, {
        hint: `${o.hint(m)}${untouched}`,
        cause: err,
      });
    }
    o.progress?.(`${name}: waiting for /readyz`);
    if (!(await o.readyz(m)))
      throw new KubeonError(`the API server on ${name} (${ip}) is not ready after ${o.what}`, {
        hint: `check crictl ps and the kubelet's log on ${name}, then ${o.hint(m)}${untouched}`,
      });
    done.push(name);
  }
  return done;
}
