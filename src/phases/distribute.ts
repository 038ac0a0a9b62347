import { randomBytes } from 'node:crypto';
import { link, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';
import { type BundleFile, nodeBundle } from '../artifacts/bundle.js';
import type { ArtifactSet } from '../artifacts/ensure.js';
import type { Arch, NodeRole } from '../artifacts/plan.js';
import type { Fleet } from '../fleet/fleet.js';
import { raw, type Script, script, sh } from '../fleet/script.js';
import type { FleetTarget, NodeFailure } from '../fleet/types.js';

/**
 * Gets each node's artifact bundle to `/opt/kubeon/<version>/` without the control machine's uplink
 * carrying one copy per node. The control machine pushes a bundle to a few seed nodes; every node that
 * holds a verified bundle then pushes it to one node that lacks it, so holders double while the uplink
 * carries `seeds` copies. Node-to-node copies use a short-lived ed25519 key that each receiver accepts
 * only for its forced receive command (`restrict`, `from=` the cluster's addresses, `expiry-time`);
 * the receive command keeps only the listed files and only if their sha256 matches. A node its peers
 * cannot feed gets a direct push. The key and staging files are removed from every node afterwards,
 * also after a failure.
 */

export type { BundleFile };

export interface NodeBundle {
  target: FleetTarget;
  files: BundleFile[];
}

/** Each node's bundle from an artifact set, by the role and architecture the node has. */
export function bundlesFor(
  set: ArtifactSet,
  nodes: readonly { target: FleetTarget; role: NodeRole; arch: Arch }[],
): NodeBundle[] {
  return nodes.map((n) => ({ target: n.target, files: nodeBundle(set, n.role, n.arch).files }));
}

export interface DistributeOptions {
  fleet: Pick<Fleet, 'run' | 'put'>;
  version: string;
  bundles: NodeBundle[];
  /** Scratch directory on the control machine, on the same file system as the cache blobs. */
  scratchDir: string;
  /** false: the control machine pushes to every node (the baseline). */
  fanout?: boolean;
  /** Nodes the control machine seeds per bundle (default 2). */
  seeds?: number;
  /** known_hosts lines (the cluster's pins) so nodes check each other's host keys; without, first use is trusted. */
  knownHosts?: string;
  destRoot?: string;
  /** Copies the control machine sends at once (default 8). */
  uplinkStreams?: number;
  /** Node-to-node attempts before a node gets a direct push. */
  peerAttempts?: number;
  stepTimeoutMs?: number;
  onEvent?: (e: DistributeEvent) => void;
}

export type DistributeEvent =
  | { kind: 'seeded' | 'direct'; node: string; ok: boolean; message?: string }
  | { kind: 'peer'; from: string; node: string; ok: boolean; message?: string };

export interface NodeOutcome {
  node: string;
  ip: string;
  /** present: nothing needed; direct: from the control machine; peer: from another node. */
  via?: 'present' | 'direct' | 'peer';
  from?: string;
  skipped: number;
  error?: NodeFailure;
}

export interface DistributeResult {
  nodes: NodeOutcome[];
  /** Bundle copies the control machine sent. */
  controlCopies: number;
  peerCopies: number;
  /** Nodes where cleanup could not run (their temporary key expires on its own). */
  cleanupFailed: string[];
  durationMs: number;
}

const RUN_MARK = 'kubeon-fanout-';

export async function distribute(opts: DistributeOptions): Promise<DistributeResult> {
  const started = Date.now();
  const run = randomBytes(6).toString('hex');
  const dest = `${opts.destRoot ?? '/opt/kubeon'}/${opts.version}`;
  const stage = `/var/tmp/${RUN_MARK}${run}`;
  const outcomes = new Map<string, NodeOutcome>();
  const outcome = (t: FleetTarget) => {
    let o = outcomes.get(t.name);
    if (!o) {
      o = { node: t.name, ip: t.host, skipped: 0 };
      outcomes.set(t.name, o);
    }
    return o;
  };
  const fail = (t: FleetTarget, error: NodeFailure) => {
    outcome(t).error ??= error;
  };
  const counters = { control: 0, peer: 0 };
  const touched: FleetTarget[] = [];
  const cleanupFailed: string[] = [];
  const local = join(opts.scratchDir, `${RUN_MARK}${run}`);

  try {
    // What each node still lacks; files already in place with the right digest are skipped.
    const probe = await opts.fleet.run(
      opts.bundles.map((b) => b.target),
      script('probe artifact bundle', sh`cd ${dest} 2>/dev/null && sha256sum -- * 2>/dev/null || true`),
      { timeoutMs: opts.stepTimeoutMs ?? 120_000 },
    );
    const groups = new Map<string, { files: BundleFile[]; nodes: FleetTarget[] }>();
    for (const [i, b] of opts.bundles.entries()) {
      const r = probe[i]!;
      if (r.error) {
        fail(b.target, r.error);
        continue;
      }
      const have = new Set(r.stdout.split('\n').map((l) => l.trim().replace(/\s+\*?/, ' ')));
      const missing = b.files.filter((f) => !have.has(`${f.sha256} ${f.name}`));
      outcome(b.target).skipped = b.files.length - missing.length;
      if (missing.length === 0) {
        outcome(b.target).via = 'present';
        continue;
      }
      const key = missing
        .map((f) => `${f.name}:${f.sha256}:${f.mode}`)
        .sort()
        .join(',');
      const g = groups.get(key) ?? { files: missing, nodes: [] };
      g.nodes.push(b.target);
      groups.set(key, g);
    }
    if (groups.size === 0) return finish();

    const allAddresses = [...new Set(opts.bundles.map((b) => b.target.host))];
    const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: `${RUN_MARK}${run}` });
    let gi = 0;
    await Promise.all(
      [...groups.values()].map(async (g) => {
        const bundleDir = join(local, String(gi++));
        await mkdir(bundleDir, { recursive: true, mode: 0o700 });
        for (const f of g.files) await link(f.path, join(bundleDir, f.name));
        const useFanout = (opts.fanout ?? true) && g.nodes.length > (opts.seeds ?? 2);
        touched.push(...g.nodes);
        const ready = await setup(opts, g.nodes, g.files, {
          stage,
          key: useFanout ? key : undefined,
          from: allAddresses,
          fail,
        });
        const have = useFanout
          ? await fanOut(opts, ready, bundleDir, g.files, stage, counters, fail, outcome)
          : await push(opts, ready, bundleDir, stage, 'direct', counters, fail, outcome);
        await place(opts, have, g.files, stage, dest, fail);
      }),
    );
    return finish();
  } finally {
    await rm(local, { recursive: true, force: true });
    if (touched.length > 0) {
      const res = await Promise.all(
        touched.map((t) => opts.fleet.run([t], cleanupScript(t.user), { timeoutMs: 60_000 })),
      );
      for (const [r] of res) if (r!.error) cleanupFailed.push(r!.node);
    }
  }

  function finish(): DistributeResult {
    const nodes = opts.bundles.map((b) => {
      const o = outcome(b.target);
      if (!o.error && !o.via) o.error = { kind: 'failed', message: 'bundle did not arrive' };
      return o;
    });
    return {
      nodes,
      controlCopies: counters.control,
      peerCopies: counters.peer,
      cleanupFailed,
      durationMs: Date.now() - started,
    };
  }
}

/** Creates the staging directory, and with fan-out the receive command, key and authorized_keys entry. */
async function setup(
  opts: DistributeOptions,
  nodes: FleetTarget[],
  files: BundleFile[],
  s: {
    stage: string;
    key: { private: string; public: string } | undefined;
    from: string[];
    fail: (t: FleetTarget, e: NodeFailure) => void;
  },
): Promise<FleetTarget[]> {
  const sums = `${files.map((f) => `${f.sha256}  ${f.name}`).join('\n')}\n`;
  const perUser = (t: FleetTarget): Script => {
    const body = [
      sh`umask 077`,
      sh`stage=${s.stage}`,
      ...userHome(t.user),
      raw('mkdir -p "$stage/in"'),
      sh`printf '%s' ${sums} > "$stage/sums"`,
    ];
    if (s.key) {
      const recv = renderReceiveCommand(s.stage, files);
      const expiry = new Date(Date.now() + 3 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 12);
      const entry = `restrict,from="${s.from.join(',')}",expiry-time="${expiry}Z",command="${s.stage}/recv" ${s.key.public}`;
      body.push(
        sh`printf '%s' ${recv} > "$stage/recv"`,
        raw('chmod 700 "$stage/recv"'),
        sh`printf '%s\n' ${s.key.private} > "$stage/key"`,
        sh`printf '%s\n' ${opts.knownHosts ?? ''} > "$stage/known_hosts"`,
        raw('mkdir -p "$home/.ssh" && touch "$home/.ssh/authorized_keys"'),
        raw('chown "$user:$group" "$home/.ssh" "$home/.ssh/authorized_keys"'),
        sh`printf '%s\n' ${entry} >> "$home/.ssh/authorized_keys"`,
      );
    }
    body.push(raw('chown -R "$user:$group" "$stage"'), raw('chmod 700 "$stage"'));
    return script('prepare artifact fan-out', ...body);
  };
  const res = await Promise.all(nodes.map((t) => opts.fleet.run([t], perUser(t), { timeoutMs: 60_000 })));
  const ready: FleetTarget[] = [];
  for (const [i, r] of res.entries()) {
    if (r[0]!.error) s.fail(nodes[i]!, r[0]!.error);
    else ready.push(nodes[i]!);
  }
  return ready;
}

/**
 * The forced command of the temporary key: reads a tar of the bundle from stdin into `<stage>/in`,
 * keeping only the listed names, only as plain files, and only if `<stage>/sums` vouches for them.
 */
export function renderReceiveCommand(stage: string, files: readonly BundleFile[]): string {
  const names = files.map((f) => shqName(f.name)).join(' ');
  return [
    '#!/bin/sh',
    '# kubeon fan-out receive command: keeps only the listed files, and only if their sha256 matches.',
    'set -eu',
    `cd ${shqStage(stage)}/in`,
    `if ! tar -xf - --no-same-owner --no-same-permissions -- ${names}; then`,
    `  rm -f -- ${names}; exit 1`,
    'fi',
    // Only plain files count: a symlink from a peer must not point the checks (or install) elsewhere.
    `for n in ${names}; do`,
    '  if [ -L "$n" ] || [ ! -f "$n" ]; then rm -f -- "$n"; echo "$n is not a regular file" >&2; exit 1; fi',
    'done',
    `if ! sha256sum -c --quiet ../sums; then rm -f -- ${names}; exit 1; fi`,
    '',
  ].join('\n');
}

function shqStage(stage: string): string {
  if (!/^[A-Za-z0-9_./-]+$/.test(stage)) throw new Error(`unexpected staging path ${stage}`);
  return stage;
}

function shqName(name: string): string {
  if (!/^[A-Za-z0-9_.+-]+$/.test(name)) throw new Error(`unexpected bundle file name ${name}`);
  return name;
}

/** The control machine pushes the bundle to `nodes` (verified on arrival by the fleet). */
async function push(
  opts: DistributeOptions,
  nodes: FleetTarget[],
  bundleDir: string,
  stage: string,
  kind: 'seeded' | 'direct',
  counters: { control: number },
  fail: (t: FleetTarget, e: NodeFailure) => void,
  outcome: (t: FleetTarget) => NodeOutcome,
): Promise<FleetTarget[]> {
  if (nodes.length === 0) return [];
  // A few streams at a time fill the uplink; a hundred at once only starve each other until their
  // SSH keepalives give up.
  const limit = pLimit(opts.uplinkStreams ?? 8);
  const res = await Promise.all(
    nodes.map((t) =>
      limit(async () => {
        const [r] = await opts.fleet.put([t], bundleDir, `${stage}/in`, {
          timeoutMs: opts.stepTimeoutMs ?? 30 * 60_000,
        });
        opts.onEvent?.({
          kind,
          node: t.name,
          ok: !r!.error,
          ...(r!.error ? { message: r!.error.message } : {}),
        });
        return r!;
      }),
    ),
  );
  const ok: FleetTarget[] = [];
  for (const [i, r] of res.entries()) {
    const t = nodes[i]!;
    if (r.error) fail(t, r.error);
    else {
      counters.control++;
      outcome(t).via = 'direct';
      ok.push(t);
    }
  }
  return ok;
}

/**
 * Seeds, then lets every holder feed one waiting node at a time until none wait. A node whose peers
 * failed `peerAttempts` times is pushed directly by the control machine.
 */
async function fanOut(
  opts: DistributeOptions,
  nodes: FleetTarget[],
  bundleDir: string,
  files: BundleFile[],
  stage: string,
  counters: { control: number; peer: number },
  fail: (t: FleetTarget, e: NodeFailure) => void,
  outcome: (t: FleetTarget) => NodeOutcome,
): Promise<FleetTarget[]> {
  const seeds = nodes.slice(0, opts.seeds ?? 2);
  const holders = await push(opts, seeds, bundleDir, stage, 'seeded', counters, fail, outcome);
  const waiting = nodes.slice(seeds.length);
  const attempts = new Map<string, number>();
  const direct: FleetTarget[] = [];
  const done = [...holders];
  const maxAttempts = opts.peerAttempts ?? 2;

  await new Promise<void>((resolve) => {
    let active = 0;
    const idle = [...holders];
    const pump = () => {
      while (idle.length > 0 && waiting.length > 0) {
        const from = idle.shift()!;
        const to = waiting.shift()!;
        active++;
        void peerCopy(opts, from, to, files, stage).then(({ ok, message, senderLost }) => {
          active--;
          opts.onEvent?.({
            kind: 'peer',
            from: from.name,
            node: to.name,
            ok,
            ...(message ? { message } : {}),
          });
          if (!senderLost) idle.push(from);
          if (ok) {
            counters.peer++;
            const o = outcome(to);
            o.via = 'peer';
            o.from = from.name;
            done.push(to);
            idle.push(to);
          } else if (!senderLost) {
            const n = (attempts.get(to.name) ?? 0) + 1;
            attempts.set(to.name, n);
            if (n >= maxAttempts) direct.push(to);
            else waiting.push(to);
          } else waiting.unshift(to);
          pump();
        });
      }
      if (active === 0) {
        direct.push(...waiting.splice(0));
        resolve();
      }
    };
    pump();
  });
  done.push(...(await push(opts, direct, bundleDir, stage, 'direct', counters, fail, outcome)));
  return done;
}

/** Runs on `from`: streams the bundle to `to`'s forced receive command. */
async function peerCopy(
  opts: DistributeOptions,
  from: FleetTarget,
  to: FleetTarget,
  files: BundleFile[],
  stage: string,
): Promise<{ ok: boolean; message?: string; senderLost?: boolean }> {
  const names = files.map((f) => f.name);
  const strict = opts.knownHosts ? 'yes' : 'accept-new';
  const s = script(
    `send artifact bundle to ${to.name}`,
    sh`cd ${stage}/in`,
    sh`tar -cf - -- ${names} | ssh -F /dev/null -i ${stage}/key -o IdentitiesOnly=yes -o BatchMode=yes -c aes128-gcm@openssh.com,chacha20-poly1305@openssh.com -o ConnectTimeout=10 -o ServerAliveInterval=10 -o StrictHostKeyChecking=${strict} -o UserKnownHostsFile=${stage}/known_hosts -o LogLevel=ERROR -p ${to.port} ${`${to.user}@${to.host}`} receive`,
  );
  const [r] = await opts.fleet.run([from], s, { timeoutMs: opts.stepTimeoutMs ?? 30 * 60_000 });
  if (!r!.error) return { ok: true };
  const senderLost = r!.exitCode === null;
  return { ok: false, message: r!.error.message, senderLost };
}

/** Verifies the staged files once more and installs them under `dest`. */
async function place(
  opts: DistributeOptions,
  nodes: FleetTarget[],
  files: BundleFile[],
  stage: string,
  dest: string,
  fail: (t: FleetTarget, e: NodeFailure) => void,
): Promise<void> {
  if (nodes.length === 0) return;
  const installs = files.map(
    (f) => sh`install -m ${f.mode.toString(8)} -- ${`${stage}/in/${f.name}`} ${`${dest}/${f.name}`}`,
  );
  const res = await opts.fleet.run(
    nodes,
    script(
      'install artifact bundle',
      sh`cd ${stage}/in`,
      raw('sha256sum -c --quiet ../sums'),
      sh`mkdir -p ${dest}`,
      ...installs,
    ),
    { timeoutMs: opts.stepTimeoutMs ?? 10 * 60_000 },
  );
  for (const [i, r] of res.entries()) if (r.error) fail(nodes[i]!, r.error);
}

/** Sets `$user`, `$home` and `$group` for the login user, whose authorized_keys the peers use. */
function userHome(user: string) {
  return [
    sh`user=${user}`,
    raw('home=$(getent passwd "$user" | cut -d: -f6)'),
    raw('group=$(id -gn "$user")'),
    raw('[ -n "$home" ] || { echo "no home directory for $user" >&2; exit 1; }'),
  ];
}

/**
 * Removes the fan-out authorized_keys entries, keys and staging files; also those a run that could not
 * clean up (node unreachable at the time) left behind. Safe to run twice.
 */
export function cleanupScript(user: string): Script {
  return script(
    'remove artifact fan-out keys',
    sh`mark=${RUN_MARK}`,
    ...userHome(user),
    raw('f="$home/.ssh/authorized_keys"'),
    raw('if [ -f "$f" ] && grep -q -- "$mark" "$f"; then'),
    raw('  grep -v -- "$mark" "$f" > "$f.kubeon-tmp" || true'),
    raw('  chown --reference="$f" "$f.kubeon-tmp"'),
    raw('  chmod --reference="$f" "$f.kubeon-tmp"'),
    raw('  mv -f -- "$f.kubeon-tmp" "$f"'),
    raw('fi'),
    sh`rm -rf -- /var/tmp/${raw(`${RUN_MARK}*`)}`,
  );
}
