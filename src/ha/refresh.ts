import { type CreateData, existing } from '../phases/create/data.js';
import type { Phase } from '../phases/phase.js';

/**
 * A mode's phase run again when the set of masters changed (add, del): over the nodes already in the
 * cluster rather than the ones the run installs, under an id of its own, so the journal never takes
 * it for the create's run of the same phase (add runs both).
 */
export function onExisting(p: Phase<CreateData>, id: string): Phase<CreateData> {
  const { nodes } = p;
  return {
    ...p,
    id,
    ...(nodes ? { nodes: (ctx) => nodes({ ...ctx, hosts: existing(ctx) }) } : {}),
  };
}
