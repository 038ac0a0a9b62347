import { existsSync } from 'node:fs';
import type { Host } from '../../cluster/host.js';
import { nodeLabel } from '../../cluster/nodes.js';
import { ExitCode, KubeonError } from '../../core/errors.js';
import { raw } from '../../fleet/script.js';
import type { Phase } from '../phase.js';
import type { CreateContext, CreateData } from './data.js';

/**
 * Everything that would make create fail half-way, found before anything changes, on every node at
 * once. Bad input (a key file that does not exist, names that collide) exits 2; unreachable or
 * unfit nodes exit 1. The list is printed whole, so one run shows every problem.
 */

export const MASTER_PORTS = [6443, 2379, 2380, 10250, 10257, 10259];
export const WORKER_PORTS = [10250];
const MIN_MASTER_CPUS = 2;
/** kubeadm's own check wants 1700 MB; 1.7 GiB leaves the same margin in MiB. */
const MIN_MASTER_MIB = 1740;
const MAX_SKEW_MS = 30_000;

export interface Problem {
  node: string;
  message: string;
  input?: boolean;
}

/** Problems visible without contacting anything: missing key files. */
export function inputProblems(ctx: CreateContext): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const { node } of ctx.data.nodes) {
    const f = node.ssh.privateKeyFile;
    if (f === undefined || existsSync(f)) continue;
    const key = `${f}\0${nodeLabel(node)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      node: nodeLabel(node),
      message: `key file ${f} does not exist; give an existing file with --default-pk-file or in cluster.yaml`,
      input: true,
    });
  }
  const bastionKey = ctx.spec.ssh.bastion?.privateKeyFile;
  if (bastionKey !== undefined && !existsSync(bastionKey))
    out.push({ node: 'jump host', message: `key file ${bastionKey} does not exist`, input: true });
  return out;
}

function duplicates(hosts: Host[], key: (h: Host) => string, what: string): Problem[] {
  const by = new Map<string, Host[]>();
  for (const h of hosts) {
    const k = key(h);
    if (!k) continue;
    by.set(k, [...(by.get(k) ?? []), h]);
  }
  const out: Problem[] = [];
  for (const [k, list] of by) {
    if (list.length < 2) continue;
    const names = list.map((h) => `${h.node.name} (${h.node.ip})`).join(', ');
    out.push({ node: list[0]!.node.name, message: `${what} "${k}" is shared by ${names}` });
  }
  return out;
}

/** Problems from the facts: OS, arch, resources, clock, identity, earlier installs. */
export function factProblems(ctx: CreateContext, receivedAt: number): Problem[] {
  const out: Problem[] = [];
  for (const h of ctx.hosts) {
    const f = h.facts;
    const p = (message: string, input = false) => out.push({ node: h.node.name, message, input });
    if (f.os.family === 'unknown' || f.packageManager === 'none')
      p(
        `unsupported OS "${f.os.pretty}": kubeon supports Debian/Ubuntu (apt) and RHEL/Rocky/Alma/openEuler/Kylin (dnf/yum)`,
      );
    if (f.init !== 'systemd') p('systemd is not running: kubelet and containerd need it');
    if (h.node.role === 'master') {
      if (f.cpus < MIN_MASTER_CPUS) p(`${f.cpus} CPU(s); a master needs at least ${MIN_MASTER_CPUS}`);
      if (f.memoryMiB < MIN_MASTER_MIB) p(`${f.memoryMiB} MiB of memory; a master needs at least 1.7 GiB`);
    }
    if (f.clockMs && Math.abs(f.clockMs - receivedAt) > MAX_SKEW_MS)
      p(
        `clock is ${Math.round((f.clockMs - receivedAt) / 1000)} s off the control machine's; synchronise it (chrony/timesyncd)`,
      );
    const owner = f.kube.clusterOwner;
    if (owner !== undefined && owner !== ctx.spec.name)
      p(`already belongs to kubeon cluster "${owner}"; run kubeon destroy ${owner} first`);
    else if (owner === undefined && f.kube.etcKubernetes)
      p(
        'has an earlier Kubernetes installation (/etc/kubernetes); reset it (kubeadm reset -f) or use another machine',
      );
  }
  out.push(...ctx.data.naming, ...duplicates(ctx.hosts, (h) => h.facts.machineId, 'machine-id'));
  return out;
}

/** Listening TCP ports, one per line, read without changing anything. */
const PORTS_COMMAND = raw(
  "(ss -ltnH 2>/dev/null || netstat -ltn 2>/dev/null | tail -n +3) | awk '{print $4}' | sed 's/.*://' | sort -un",
);

async function portProblems(ctx: CreateContext): Promise<Problem[]> {
  // A node that already carries this cluster is a resumed run: its ports are ours.
  const fresh = ctx.hosts.filter((h) => h.facts.kube.clusterOwner !== ctx.spec.name);
  if (fresh.length === 0) return [];
  const sudo = Boolean(ctx.data.settings.sudo);
  const results = await ctx.fleet.query(
    fresh.map((h) => h.target),
    'listening ports',
    PORTS_COMMAND.text,
    { sudo },
  );
  const out: Problem[] = [];
  for (const [i, r] of results.entries()) {
    const h = fresh[i]!;
    if (r.error) {
      out.push({ node: h.node.name, message: `cannot list listening ports: ${r.error.message}` });
      continue;
    }
    const open = new Set(r.stdout.split('\n').map((l) => Number(l.trim())));
    const wanted = h.node.role === 'master' ? MASTER_PORTS : WORKER_PORTS;
    const busy = wanted.filter((p) => open.has(p));
    if (busy.length) out.push({ node: h.node.name, message: `port(s) ${busy.join(', ')} already in use` });
  }
  return out;
}

export const preflightPhase: Phase<CreateData> = {
  id: 'preflight',
  title: 'preflight checks',
  always: true,
  readOnly: true,
  async run(ctx) {
    const receivedAt = ctx.now().getTime();
    const problems: Problem[] = [...inputProblems(ctx)];
    for (const { node } of ctx.data.nodes) {
      const e = ctx.data.contact.get(node.ip);
      if (e && !problems.some((p) => p.node === nodeLabel(node) && p.input))
        problems.push({ node: nodeLabel(node), message: `${e.kind}: ${e.message}` });
    }
    problems.push(...factProblems(ctx, receivedAt));
    if (!ctx.dryRun || !ctx.data.assumeOs) problems.push(...(await portProblems(ctx)));
    if (problems.length === 0) return [];
    for (const p of problems) ctx.info(`  ${p.node}: ${p.message}`);
    const input = problems.some((p) => p.input);
    throw new KubeonError(
      `preflight found ${problems.length} problem(s) on ${new Set(problems.map((p) => p.node)).size} node(s); nothing was changed`,
      {
        exitCode: input ? ExitCode.badInput : ExitCode.failed,
        hint: 'fix the problems listed above and run the same command again',
      },
    );
  },
  plan: () => [],
};
