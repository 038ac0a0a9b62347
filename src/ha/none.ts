import { firstMaster } from '../phases/create/data.js';
import type { HaMode } from './mode.js';

/** One master: every node reaches the API at that master. Masters resolve the name to themselves. */
export const noneMode: HaMode = {
  id: 'none',
  finalResolve: (ctx, host) => (host.node.role === 'master' ? host.node.ip : firstMaster(ctx).node.ip),
  beforeWorkerJoin: [],
  afterWorkerJoin: [],
  files: () => [],
};
