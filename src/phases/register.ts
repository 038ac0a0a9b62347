import type { CommandContext } from '../cli/context.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { notImplemented } from '../core/errors.js';

/**
 * `create --register-only`: record the spec, reach and authenticate every node, pin host keys,
 * change nothing on the nodes. Filled in by the SSH fleet.
 */
export async function registerCluster(_ctx: CommandContext, _spec: ClusterSpec): Promise<void> {
  throw notImplemented('kubeon create --register-only');
}
