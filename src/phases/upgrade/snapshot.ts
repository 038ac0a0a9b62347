import { withEtcd } from '../../etcd/connect.js';
import { backupsDir, saveClusterSnapshot } from '../../etcd/save.js';
import { masters } from '../create/data.js';
import type { Phase } from '../phase.js';
import type { UpgradeData } from './data.js';

/**
 * The way back: an etcd snapshot streamed to the control machine and verified before the first
 * change. Journaled once per target version, so a continued upgrade keeps the snapshot taken before
 * anything changed instead of taking one of a half-upgraded cluster.
 */
export const snapshotPhase: Phase<UpgradeData> = {
  id: 'etcd-snapshot',
  title: 'save an etcd snapshot to the control machine',
  plan: (ctx) => [`stream, verify and keep under ${backupsDir(ctx.paths.dir)}`],
  async run(ctx) {
    const saved = await withEtcd(
      ctx.data.etcd,
      masters(ctx).map((h) => h.target),
      (etcd) => saveClusterSnapshot(etcd, { clusterDir: ctx.paths.dir, now: ctx.now() }),
    );
    ctx.info(`etcd snapshot from ${saved.member}: ${saved.path} (${saved.bytes} bytes, verified)`);
    return [];
  },
};
