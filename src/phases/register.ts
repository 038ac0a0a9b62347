import { rm } from 'node:fs/promises';
import type { CommandContext } from '../cli/context.js';
import { clusterNodes, nodeLabel } from '../cluster/nodes.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { newState } from '../cluster/state.js';
import { validateNodeName } from '../cluster/validate.js';
import { writeFileAtomic } from '../core/atomic.js';
import { KubeonError } from '../core/errors.js';
import {
  clusterFleetOptions,
  type FleetSettings,
  jumpHostOf,
  secretsOf,
  targetOf,
} from '../fleet/cluster.js';
import { Fleet } from '../fleet/fleet.js';
import { trapInterrupts } from '../fleet/interrupt.js';
import { FileLog, MemoryLog } from '../fleet/log.js';
import type { NodeFailure } from '../fleet/types.js';

/**
 * Reads facts without changing anything: no upload, no temporary file. Output is one fact a line.
 * `uname -n` is the kernel's hostname, which is what kubelet uses as the default node name.
 */
export const FACTS_COMMAND = [
  'uname -n',
  'uname -m',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  '(. /etc/os-release 2>/dev/null && printf "%s\\n" "${PRETTY_NAME:-$ID}") || uname -s',
].join('; ');

export interface Facts {
  hostname: string;
  arch: string;
  os: string;
}

export function parseFacts(stdout: string): Facts | undefined {
  const [hostname, arch, os] = stdout.split('\n').map((l) => l.trim());
  if (!hostname || !arch) return undefined;
  return { hostname, arch, os: os || 'unknown' };
}

/**
 * `create --register-only`: reach and authenticate every node, pin host keys, learn hostname, arch
 * and OS, name nodes that have no name yet, then store cluster.yaml, state.json and known_hosts.
 * Nothing on the nodes changes. If any node fails, every failure is reported and nothing is
 * stored, so the user can fix the cause and run the same command again.
 */
export async function registerCluster(
  ctx: CommandContext,
  spec: ClusterSpec,
  settings: FleetSettings = {},
): Promise<void> {
  const paths = ctx.store.paths(spec.name);
  const lock = await ctx.store.lock(spec.name, ctx.commandLine);
  const nodes = clusterNodes(spec);
  const targets = nodes.map((n) => targetOf(n, undefined, ctx.env));
  const redactor = secretsOf(targets, jumpHostOf(spec, ctx.env));
  // Events are kept in memory and written only when the cluster is stored.
  const log = new MemoryLog(redactor);
  log.write({ event: 'start', command: ctx.commandLine, nodes: targets.length });
  if (settings.insecureIgnoreHostKey)
    ctx.out.warn(
      '--insecure-ignore-hostkey: host keys are not checked or pinned; anyone on the path can impersonate nodes',
    );
  const options = await clusterFleetOptions(spec, undefined, settings, ctx.env, log);
  const fleet = new Fleet(options);
  const trap = trapInterrupts({ say: (line) => ctx.out.info(line) });
  let stored = false;
  try {
    ctx.out.info(
      `registering ${targets.length} node(s) of "${spec.name}": connecting, pinning host keys, reading facts`,
    );
    const plain = targets.filter((t) => t.user === 'root' && !settings.sudo);
    const sudo = targets.filter((t) => !plain.includes(t));
    const limit = {
      signal: trap.signal,
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
    };
    const results = (
      await Promise.all([
        fleet.query(plain, 'facts', FACTS_COMMAND, limit),
        // A non-root login must be able to sudo: read the facts through sudo to prove it works.
        fleet.query(sudo, 'facts (through sudo)', FACTS_COMMAND, { ...limit, sudo: true }),
      ])
    ).flat();
    const byIp = new Map(results.map((r) => [r.ip, r]));
    const failures: { node: string; error: NodeFailure }[] = [];
    const facts = new Map<string, Facts>();
    const taken = new Map<string, string>();
    for (const n of nodes) if (n.name) taken.set(n.name, n.ip);
    for (const n of nodes) {
      const label = nodeLabel(n);
      const r = byIp.get(n.ip)!;
      if (r.error) {
        failures.push({ node: label, error: r.error });
        continue;
      }
      const f = parseFacts(r.stdout);
      if (!f) {
        failures.push({
          node: label,
          error: { kind: 'failed', message: 'could not read hostname and architecture' },
        });
        continue;
      }
      facts.set(n.ip, f);
      if (n.name !== undefined) continue;
      const flag = n.role === 'master' ? '--master-name' : '--worker-name';
      const name = f.hostname.toLowerCase();
      try {
        validateNodeName(name, `hostname of ${n.ip}`);
      } catch {
        failures.push({
          node: label,
          error: {
            kind: 'failed',
            message: `hostname "${f.hostname}" is not a valid Kubernetes node name; give one with ${flag}`,
          },
        });
        continue;
      }
      const other = taken.get(name);
      if (other !== undefined) {
        failures.push({
          node: label,
          error: {
            kind: 'failed',
            message: `hostname "${name}" is also the name of ${other}; give distinct names with ${flag}`,
          },
        });
        continue;
      }
      taken.set(name, n.ip);
    }
    if (failures.length) {
      for (const f of failures)
        ctx.out.info(redactor.redact(`  ${f.node}: ${f.error.kind}: ${f.error.message}`));
      throw new KubeonError(
        `registration of "${spec.name}" failed on ${failures.length} of ${nodes.length} node(s); nothing was stored`,
        { hint: 'fix the nodes listed above and run the same command again' },
      );
    }

    const named = structuredClone(spec);
    const state = newState(new Date(), 'registered');
    for (const [role, list] of [
      ['master', named.masters],
      ['worker', named.workers],
    ] as const) {
      for (const n of list) {
        const f = facts.get(n.ip)!;
        n.name ??= f.hostname.toLowerCase();
        state.nodes[n.ip] = { name: n.name, hostname: f.hostname, arch: f.arch, os: f.os };
        log.write({ event: 'node', node: n.name, ip: n.ip, role, arch: f.arch, os: f.os });
      }
    }
    await ctx.store.ensureClusterDirs(spec.name);
    await writeFileAtomic(paths.knownHosts, options.hostKeys.pins.text, 0o600);
    await ctx.store.writeState(spec.name, state);
    await ctx.store.writeSpec(named);
    stored = true;
    const file = FileLog.open(paths.logs, 'create', redactor);
    for (const e of log.events) file.write(e);
    file.close();

    const rows = [
      ...named.masters.map((n) => ({ n, role: 'master' })),
      ...named.workers.map((n) => ({ n, role: 'worker' })),
    ];
    ctx.out.result({ cluster: spec.name, status: state.status, nodes: state.nodes }, rows, [
      { header: 'NAME', value: (r) => r.n.name ?? '' },
      { header: 'ROLE', value: (r) => r.role },
      { header: 'IP', value: (r) => r.n.ip },
      { header: 'ARCH', value: (r) => state.nodes[r.n.ip]?.arch ?? '' },
      { header: 'OS', value: (r) => state.nodes[r.n.ip]?.os ?? '' },
    ]);
    ctx.out.info(
      `cluster "${spec.name}" registered: ${nodes.length} node(s) reachable, host keys pinned in ${paths.knownHosts}; nothing was changed on the nodes`,
    );
  } finally {
    await fleet.close();
    lock.release();
    // The lock created the cluster directory; a failed registration must not leave it behind.
    if (!stored && !ctx.store.exists(spec.name)) await rm(paths.dir, { recursive: true, force: true });
    trap.release();
  }
}
