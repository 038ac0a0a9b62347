import type { Host } from '../cluster/host.js';
import type { CreateContext, CreateData } from '../phases/create/data.js';
import type { Phase, RenderedFile } from '../phases/phase.js';

/**
 * How the control-plane endpoint is made highly available. A mode decides where the endpoint name
 * resolves on each node and contributes its own phases and files; create, add and del never branch
 * on the mode. `none` (one master) and `haproxy` live here; `external` and `updater` come next.
 */
export interface HaMode {
  id: 'none' | 'haproxy';
  /** Where the endpoint name resolves on a node that is part of the cluster. */
  finalResolve(ctx: CreateContext, host: Host): string;
  /** Phases that run after the masters are up and before workers join (e.g. placing a local proxy). */
  beforeWorkerJoin: Phase<CreateData>[];
  /** Phases that run after the workers joined (e.g. switching them to their local proxy). */
  afterWorkerJoin: Phase<CreateData>[];
  /** Phases run over the existing nodes after the set of masters changed (add/del): bring each node's view of the endpoint up to date. ctx.spec holds the new master list. */
  mastersChanged: Phase<CreateData>[];
  /** Files the mode places on a node (for `--render-dir`). */
  files(ctx: CreateContext, host: Host): RenderedFile[];
}
