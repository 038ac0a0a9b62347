import { ExitCode, KubeonError } from '../core/errors.js';
import type { Fleet, RunOptions } from '../fleet/fleet.js';
import type { FleetTarget, RunResult } from '../fleet/types.js';
import { urlHost } from '../pki/profiles.js';
import type { EtcdClient, EtcdEndpoint } from './client.js';
import {
  RESTORE_SNAPSHOT,
  RESTORE_STAGE,
  type RestoreMember,
  restoreMemberScript,
  restoreProbeScript,
  startControlPlaneScript,
  stopControlPlaneScript,
} from './scripts.js';
import { verifySnapshot } from './snapshot.js';

/**
 * `kubeon etcd NAME snapshot restore FILE`: kubeadm's procedure for stacked etcd ("Operating etcd
 * clusters for Kubernetes", Restoring an etcd cluster), on every master in lockstep: stop every
 * control plane, restore every member's data from the same snapshot, start them all again. The
 * snapshot is verified on the control machine before any node is touched. A failure before the data
 * is replaced starts the control planes again on the old data; a failure while replacing leaves them
 * stopped, never a cluster half on old and half on restored data, and re-running finishes the job.
 */

export interface RestoreMaster {
  /** Node name, which kubeadm also gives the master's etcd member. */
  name: string;
  ip: string;
  target: FleetTarget;
}

export interface RestoreRequest {
  file: string;
  masters: readonly RestoreMaster[];
  /** Names the directory each master keeps its old data in. */
  stamp: string;
  sudo: boolean;
  /** How long each master gets to stop its etcd. */
  stopWaitSeconds?: number;
  /** How long the restored members get to answer again. */
  healthTimeoutMs?: number;
  progress(msg: string): void;
  /** Asked once the snapshot and the masters passed their checks, before anything changes. */
  confirm?: () => Promise<void>;
}

export interface RestoreResult {
  members: RestoreMember[];
  /** Per master, where its old data directory was kept. */
  kept: { node: string; dir: string }[];
}

export interface RestoreDeps {
  fleet: Pick<Fleet, 'run' | 'put'>;
  client: EtcdClient;
  endpoints: readonly EtcdEndpoint[];
}

export const ETCD_PEER_PORT = 2380;

/** The restored cluster's members, as kubeadm made them: named after the node, peer URL on its IP. */
export function restoreMembers(masters: readonly Pick<RestoreMaster, 'name' | 'ip'>[]): RestoreMember[] {
  return masters.map((m) => ({ name: m.name, peerUrl: `https://${urlHost(m.ip)}:${ETCD_PEER_PORT}` }));
}

function failures(results: readonly RunResult[]): string {
  return results
    .filter((r) => r.error || r.exitCode !== 0)
    .map((r) => {
      const why = r.stderr.trim().split('\n').at(-1) || r.error?.message || `exit ${r.exitCode}`;
      return `${r.node}: ${why}`;
    })
    .join('; ');
}

export async function restoreSnapshot(deps: RestoreDeps, req: RestoreRequest): Promise<RestoreResult> {
  const check = await verifySnapshot(req.file).catch((err: Error) => ({ ok: false, problem: err.message }));
  if (!check.ok)
    throw new KubeonError(`${req.file} cannot be restored: ${check.problem}`, {
      exitCode: ExitCode.badInput,
      hint: 'pick another snapshot (kubeon keeps the last ones under clusters/NAME/backups/); nothing was changed',
    });
  const targets = req.masters.map((m) => m.target);
  const run = (s: Parameters<Fleet['run']>[1], opts: RunOptions = {}) =>
    deps.fleet.run(targets, s, { sudo: req.sudo, ...opts });

  req.progress(`checking ${targets.length} master(s)`);
  const probe = await run(restoreProbeScript(), { timeoutMs: 60_000 });
  if (failures(probe))
    throw new KubeonError(`cannot restore etcd: ${failures(probe)}`, {
      hint: 'fix the masters named; nothing was changed',
    });

  await req.confirm?.();
  req.progress('copying the snapshot to every master');
  const put = await deps.fleet.put(targets, req.file, RESTORE_SNAPSHOT, { mode: 0o600, sudo: req.sudo });
  const notPut = put.filter((r) => r.error);
  if (notPut.length) {
    await run(startControlPlaneScript());
    throw new KubeonError(
      `cannot copy the snapshot to ${notPut.map((r) => `${r.node} (${r.error!.message})`).join(', ')}`,
      { hint: `nothing was changed; the staged copies under ${RESTORE_STAGE} were removed` },
    );
  }

  req.progress('stopping the control plane on every master');
  const stopped = await run(stopControlPlaneScript(req.stopWaitSeconds ?? 120), { timeoutMs: 5 * 60_000 });
  if (failures(stopped)) {
    const problem = failures(stopped);
    await run(startControlPlaneScript());
    throw new KubeonError(`cannot stop the control plane: ${problem}`, {
      hint: 'the control planes were started again on their old data; fix the masters named and re-run',
    });
  }

  const members = restoreMembers(req.masters);
  req.progress('restoring every member from the snapshot');
  const results = await Promise.all(
    req.masters.map((m, i) =>
      deps.fleet.run([m.target], restoreMemberScript({ member: members[i]!, members, stamp: req.stamp }), {
        sudo: req.sudo,
        timeoutMs: 30 * 60_000,
      }),
    ),
  );
  const restored = results.flat();
  if (failures(restored))
    throw new KubeonError(`restoring etcd failed: ${failures(restored)}`, {
      hint: 'every control plane is left stopped so no master serves old data; fix the masters named and re-run the same restore',
    });
  const kept = restored.map((r) => ({ node: r.node, dir: /^old=(.*)$/m.exec(r.stdout)?.[1] ?? '' }));

  req.progress('starting the control plane on every master');
  const started = await run(startControlPlaneScript());
  if (failures(started))
    throw new KubeonError(`etcd was restored but the control plane did not start: ${failures(started)}`, {
      hint: `move the manifests back from /etc/kubernetes/manifests.kubeon-etcd-restore on the masters named`,
    });

  req.progress('waiting for every member to answer');
  await waitHealthy(deps, req.healthTimeoutMs ?? 5 * 60_000);
  return { members, kept };
}

async function waitHealthy(deps: RestoreDeps, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await Promise.all(deps.endpoints.map((ep) => deps.client.health(ep)));
    const down = deps.endpoints.filter((_, i) => !health[i]!.healthy);
    if (down.length === 0) return;
    if (Date.now() >= deadline)
      throw new KubeonError(
        `etcd was restored but ${down.map((e) => e.name).join(', ')} did not become healthy within ${Math.round(timeoutMs / 1000)} s`,
        { hint: 'see the etcd container logs on those masters (kubeon exec NAME@masters crictl logs …)' },
      );
    await new Promise((r) => setTimeout(r, 2000));
  }
}
