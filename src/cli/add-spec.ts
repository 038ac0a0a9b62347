import { type ClusterFlags, type NodeFlags, specFromFlags } from '../cluster/from-flags.js';
import { nodeOwners } from '../cluster/owners.js';
import type { ClusterSpec, NodeSpec, SshAuth } from '../cluster/spec.js';
import { validateSpec } from '../cluster/validate.js';
import { badInput } from '../core/errors.js';
import { plural } from '../core/suggest.js';
import { withAskedPassword } from './ask-pass.js';
import type { CommandContext } from './context.js';

/**
 * add's node flags over a stored spec: the new nodes appended to its masters and workers, and the
 * merged spec validated as a whole (an address already in the cluster, a name taken twice). The
 * `--default-*` SSH flags of an add describe the new nodes only, so they are written on each new
 * node instead of changing how the existing ones are reached.
 */

export interface AddSpec {
  spec: ClusterSpec;
  added: { masters: string[]; workers: string[] };
  warnings: string[];
  ctx: CommandContext;
}

function onNode(node: NodeSpec, ...layers: (SshAuth | undefined)[]): NodeSpec {
  const out: NodeSpec = { ...node };
  for (const layer of layers.reverse()) {
    for (const [k, v] of Object.entries(layer ?? {}))
      if ((out as Record<string, unknown>)[k] === undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

export async function specWithNewNodes(
  ctx: CommandContext,
  stored: ClusterSpec,
  opts: NodeFlags & { force?: boolean },
): Promise<AddSpec> {
  if (!opts.master?.length && !opts.worker?.length)
    throw badInput(
      'no node to add',
      `give the new nodes with -m IP and/or -w IP, or continue an unfinished add with kubeon add ${stored.name} --resume`,
    );
  const origins = new Map<string, string>();
  const raw = specFromFlags(stored.name, stored.version, opts as ClusterFlags, undefined, origins);
  const ssh = raw.ssh ?? {};
  const newMasters = (raw.masters ?? []).map((n) => onNode(n as NodeSpec, ssh.defaults, ssh.masters));
  const newWorkers = (raw.workers ?? []).map((n) => onNode(n as NodeSpec, ssh.defaults, ssh.workers));
  const shift = (role: 'masters' | 'workers', by: number) => (path: string) =>
    path.replace(new RegExp(`^${role}\\[(\\d+)\\]`), (_, i: string) => `${role}[${Number(i) + by}]`);
  const merged = structuredClone(stored) as ClusterSpec;
  merged.masters.push(...newMasters);
  merged.workers.push(...newWorkers);
  if (opts.bastion !== undefined) merged.ssh.bastion = raw.ssh?.bastion as ClusterSpec['ssh']['bastion'];
  const flags = new Map(
    [...origins].map(([k, v]) => [
      shift('workers', stored.workers.length)(shift('masters', stored.masters.length)(k)),
      v,
    ]),
  );
  const { spec, warnings } = validateSpec(merged, 'command line', flags);
  if (opts.askPass) ctx = await withAskedPassword(ctx);
  const owners = await nodeOwners(ctx.store, {
    ...spec,
    masters: newMasters as ClusterSpec['masters'],
    workers: newWorkers as ClusterSpec['workers'],
  });
  if (owners.length && !opts.force) {
    const first = owners[0]!;
    throw badInput(
      `node ${first.ip} already belongs to cluster "${first.cluster}"${owners.length > 1 ? ` (and ${plural(owners.length - 1, 'more node')})` : ''}`,
      `use other nodes, remove it there (kubeon del ${first.cluster} ${first.ip}), or give --force if that cluster is gone`,
    );
  }
  return {
    spec,
    added: {
      masters: spec.masters.slice(stored.masters.length).map((n) => n.ip),
      workers: spec.workers.slice(stored.workers.length).map((n) => n.ip),
    },
    warnings,
    ctx,
  };
}
