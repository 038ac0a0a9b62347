import { badInput } from '../core/errors.js';
import type { CommandContext } from './context.js';

/** The cluster a command works on: the one named, else the current one (`kubeon use NAME`). */
export async function clusterOrCurrent(ctx: CommandContext, name: string | undefined): Promise<string> {
  if (name !== undefined) return name;
  const current = await ctx.store.current();
  if (current === undefined)
    throw badInput(
      'no cluster named and no cluster is current',
      'give the cluster name, or pick one with kubeon use NAME (see kubeon list)',
    );
  return current;
}
