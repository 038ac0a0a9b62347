import { ipFamily, ipToBigInt } from '../cluster/net.js';
import { KubeonError } from '../core/errors.js';
import { raw, script, sh } from '../fleet/script.js';
import {
  allMasters,
  type CreateContext,
  type CreateData,
  firstMaster,
  runOn,
} from '../phases/create/data.js';
import type { Phase } from '../phases/phase.js';
import type { HaMode } from './mode.js';
import { onExisting } from './refresh.js';

/**
 * external mode (`--lb-ip X [--lb-port P]`): the user's load balancer at X:P forwards to every
 * master's 6443. Every node, masters included, resolves the endpoint name to X (kubeadm's HA guide
 * for an external LB), so the name and P are all kubeadm, kubeconfigs and joins ever see. kubeon
 * checks from the first master that X:P reaches the apiservers: an LB that forwards elsewhere (or
 * nowhere) is named as the cause before a join fails with a timeout.
 */

const APISERVER_PORT = 6443;
const CA = '/etc/kubernetes/pki/ca.crt';

function lbOf(ctx: CreateContext): { ip: string; port: number } {
  const ip = ctx.spec.controlPlane.lbIp;
  if (!ip) throw new Error('external mode without controlPlane.lbIp (validation lets none through)');
  return { ip, port: ctx.spec.controlPlane.port };
}

const hostPort = (ip: string, port: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

/**
 * TRIES TLS handshakes with X:P, verified against the cluster CA, each printing the IP SANs of the
 * certificate that answered (`seen <ip>...`) or `fail`. An apiserver's certificate names its own
 * node address and no other master's, so the SANs tell which master the LB picked.
 */
export function lbProbeScript(lb: { ip: string; port: number }, serverName: string, tries: number) {
  return script(
    `probe the load balancer ${hostPort(lb.ip, lb.port)}`,
    sh`lb=${hostPort(lb.ip, lb.port)} name=${serverName} ca=${CA} tries=${String(tries)}`,
    raw('for _ in $(seq 1 "$tries"); do'),
    raw(
      '  cert=$(timeout 5 openssl s_client -connect "$lb" -servername "$name" -CAfile "$ca" -verify_return_error </dev/null 2>/dev/null) || { echo fail; continue; }',
    ),
    raw(
      "  printf '%s\\n' \"$cert\" | openssl x509 -noout -ext subjectAltName 2>/dev/null | tr ',' '\\n' | sed -n 's/^ *IP Address://p' | tr '\\n' ' ' | sed 's/^/seen /; s/ *$//'",
    ),
    raw('  echo'),
    raw('done'),
  );
}

/** The masters whose certificate answered at least once in a probe's output. */
export function mastersSeen(output: string, masterIps: readonly string[]): Set<string> {
  const key = (a: string) => `${ipFamily(a)}/${ipToBigInt(a)}`;
  const seen = new Set<string>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('seen ')) continue;
    for (const a of line.slice(5).trim().split(/\s+/)) {
      try {
        seen.add(key(a.toLowerCase()));
      } catch {
        // Not an address openssl printed for a master.
      }
    }
  }
  return new Set(masterIps.filter((m) => seen.has(key(m))));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Probes until every wanted master has answered through the LB or the deadline passes (the LB's own
 * health checks need a few seconds to put a new apiserver in rotation), then throws naming those
 * that never answered.
 */
async function checkLb(ctx: CreateContext, wanted: { name: string; ip: string }[], deadlineMs: number) {
  const lb = lbOf(ctx);
  const missing = new Map(wanted.map((m) => [m.ip, m.name]));
  const until = Date.now() + deadlineMs;
  let fails = 0;
  do {
    const out = await runOn(
      ctx,
      firstMaster(ctx),
      lbProbeScript(lb, ctx.spec.controlPlane.endpoint, 3 * allMasters(ctx).length),
    );
    fails += out.split('\n').filter((l) => l === 'fail').length;
    for (const ip of mastersSeen(out, [...missing.keys()])) missing.delete(ip);
    if (missing.size === 0 || ctx.signal.aborted) break;
    await sleep(2000);
  } while (Date.now() < until);
  if (missing.size === 0) return;
  const names = [...missing].map(([ip, name]) => `${name} (${hostPort(ip, APISERVER_PORT)})`).join(', ');
  throw new KubeonError(
    `the load balancer ${hostPort(lb.ip, lb.port)} does not reach ${names}${fails ? `; ${fails} TLS handshakes through it failed or were not from this cluster's apiservers` : ''}`,
    {
      hint: `make ${hostPort(lb.ip, lb.port)} forward TCP to port ${APISERVER_PORT} of every master (${allMasters(
        ctx,
      )
        .map((m) => m.node.ip)
        .join(', ')}), with a health check on /readyz, then run the same kubeon command again`,
    },
  );
}

const nodeOf = (h: { node: { name: string; ip: string } }) => ({ name: h.node.name, ip: h.node.ip });

const firstCheck: Phase<CreateData> = {
  id: 'lb-check-first',
  title: 'check the load balancer reaches the first master',
  plan: (ctx) => [
    `TLS through ${hostPort(lbOf(ctx).ip, lbOf(ctx).port)} reaches ${firstMaster(ctx).node.name}:6443`,
  ],
  async run(ctx) {
    await checkLb(ctx, [nodeOf(firstMaster(ctx))], 60_000);
    return [];
  },
};

export const lbCheckPhase: Phase<CreateData> = {
  id: 'lb-check',
  title: 'check the load balancer reaches every master',
  always: true,
  plan: (ctx) => [`TLS through ${hostPort(lbOf(ctx).ip, lbOf(ctx).port)} reaches every master's 6443`],
  async run(ctx) {
    await checkLb(ctx, allMasters(ctx).map(nodeOf), 90_000);
    return [];
  },
};

export const externalMode: HaMode = {
  id: 'external',
  finalResolve: (ctx) => lbOf(ctx).ip,
  joinResolve: (ctx) => lbOf(ctx).ip,
  afterInit: [firstCheck],
  beforeWorkerJoin: [lbCheckPhase],
  afterWorkerJoin: [],
  // Nodes already resolve the name to the LB; what changes is the LB's pool, which is the user's.
  mastersChanged: [onExisting(lbCheckPhase, 'lb-recheck')],
  files: () => [],
};
