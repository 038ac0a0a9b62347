import { assumedFacts, FACTS_COMMAND, parseFacts } from '../../cluster/facts.js';
import type { Host, HostFacts } from '../../cluster/host.js';
import { nodeLabel } from '../../cluster/nodes.js';
import { validateNodeName } from '../../cluster/validate.js';
import type { Phase } from '../phase.js';
import type { CreateData } from './data.js';

/**
 * First contact: connect to every node (pinning host keys), read its facts with one read-only
 * command, and name nodes that have no name from their hostname. A node that cannot be reached is
 * not a failure here: preflight reports it with every other problem at once.
 */
export const factsPhase: Phase<CreateData> = {
  id: 'facts',
  title: 'gather facts',
  always: true,
  readOnly: true,
  async run(ctx) {
    const { nodes, settings } = ctx.data;
    // A dry run on assumed facts contacts nothing at all.
    const offline = ctx.dryRun && ctx.data.assumeOs !== undefined;
    const limit = settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {};
    const plain = nodes.filter((n) => n.target.user === 'root' && !settings.sudo).map((n) => n.target);
    const sudo = nodes.filter((n) => !(n.target.user === 'root' && !settings.sudo)).map((n) => n.target);
    const results = (
      await Promise.all([
        offline ? [] : ctx.fleet.query(plain, 'facts', FACTS_COMMAND.text, limit),
        // A non-root login must be able to sudo: reading the facts through sudo proves it works.
        offline
          ? []
          : ctx.fleet.query(sudo, 'facts (through sudo)', FACTS_COMMAND.text, { ...limit, sudo: true }),
      ])
    ).flat();
    const byIp = new Map(results.map((r) => [r.ip, r]));
    const hosts: Host[] = [];
    ctx.data.contact.clear();
    ctx.data.naming = [];
    const taken = new Map<string, string>();
    for (const { node } of nodes) if (node.name) taken.set(node.name, node.ip);
    for (const { node, target } of nodes) {
      const r = byIp.get(node.ip) ?? {
        error: { kind: 'unreachable' as const, message: 'not contacted (--assume-os)' },
        stdout: '',
      };
      let facts: HostFacts | undefined;
      if (r.error) {
        if (ctx.data.assumeOs && ctx.dryRun) facts = assumedFacts(ctx.data.assumeOs, node.name ?? node.ip);
        if (!facts) {
          ctx.data.contact.set(node.ip, r.error);
          continue;
        }
      } else {
        facts = parseFacts(r.stdout);
        if (!facts) {
          ctx.data.contact.set(node.ip, {
            kind: 'failed',
            message: 'could not read the hostname and architecture',
          });
          continue;
        }
      }
      const name = node.name ?? facts.hostname.toLowerCase();
      if (node.name === undefined) {
        const problem = namingProblem(node.role, facts.hostname, name, taken.get(name));
        if (problem) ctx.data.naming.push({ node: nodeLabel(node), message: problem });
        else taken.set(name, node.ip);
      }
      hosts.push({ node: { ...node, name }, target: { ...target, name }, facts });
    }
    ctx.hosts = hosts;
    return [];
  },
  plan: () => [],
};

/** Why a node without a name cannot take its hostname as one, if it cannot. */
function namingProblem(
  role: string,
  hostname: string,
  name: string,
  other: string | undefined,
): string | undefined {
  const flag = role === 'master' ? '--master-name' : '--worker-name';
  try {
    validateNodeName(name, 'hostname');
  } catch {
    return `hostname "${hostname}" is not a valid Kubernetes node name; give one with ${flag}`;
  }
  if (other !== undefined)
    return `hostname "${name}" is also the name of ${other}; give distinct names with ${flag}`;
  return undefined;
}
