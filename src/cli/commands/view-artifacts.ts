import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { ArtifactCache, fileKey } from '../../artifacts/cache.js';
import { type KubeadmImages, kubeadmImageList } from '../../artifacts/kubeadm-images.js';
import { archOf } from '../../artifacts/plan.js';
import type { ContextFactory } from '../context.js';
import { collect } from '../node-flags.js';
import { parseArches, parseCni } from './download.js';

/** `view support` and `view component`: answered from the catalog, offline, in well under a second. */
export function viewArtifactCommands(makeCtx: ContextFactory): Command[] {
  const support = new Command('support')
    .description('list supported Kubernetes minors, their runtime versions and (online) latest patches')
    .option('--offline', 'do not ask the mirrors for the latest patches (env KUBEON_OFFLINE=1)')
    .option('--mirror <m>', 'where stable-1.Y.txt is read: global, cn or a prefix URL (repeatable)', collect)
    .action(async (opts: { offline?: boolean; mirror?: string[] }, command: Command) => {
      const ctx = makeCtx(command);
      const offline = Boolean(opts.offline) || ctx.env.KUBEON_OFFLINE === '1';
      // The HTTP stack loads only for the commands that use it, so --help and list start fast.
      const { createDispatcher } = await import('../../artifacts/http.js');
      const { supportTable } = await import('../../artifacts/support.js');
      const { fileSources, mirrorList } = await import('../../artifacts/mirrors.js');
      const dispatcher = offline
        ? undefined
        : createDispatcher({ connectTimeoutMs: 3000, headersTimeoutMs: 4000, env: ctx.env });
      try {
        const rows = await supportTable({
          ...(dispatcher ? { dispatcher, sources: fileSources(mirrorList(opts.mirror, ctx.env)) } : {}),
        });
        ctx.out.result(rows, rows, [
          { header: 'MINOR', value: (r) => r.minor },
          { header: 'LATEST', value: (r) => r.latest ?? (offline ? '-' : 'unknown') },
          { header: 'PATCHED', value: (r) => (r.patched ? 'yes' : 'no (upstream EOL)') },
          { header: 'CONTAINERD', value: (r) => r.containerd },
          { header: 'RUNC', value: (r) => r.runc },
          { header: 'CRICTL', value: (r) => r.crictl },
          { header: 'CNI', value: (r) => r.cni },
          { header: 'CALICO', value: (r) => r.calico },
          { header: 'CILIUM', value: (r) => r.cilium },
          { header: 'HAPROXY', value: (r) => r.haproxy },
        ]);
        // Say once why LATEST is unknown, per distinct reason, on stderr (JSON keeps latest: null).
        const reasons = new Map<string, string[]>();
        for (const r of rows)
          if (r.latest === null && !offline && r.latestUnknown)
            reasons.set(r.latestUnknown, [...(reasons.get(r.latestUnknown) ?? []), r.minor]);
        for (const [why, minors] of reasons) ctx.out.info(`LATEST unknown for ${minors.join(', ')}: ${why}`);
      } finally {
        await dispatcher?.close();
      }
    });

  const component = new Command('component')
    .description('print every component version of a Kubernetes version and the URLs kubeon fetches')
    .argument('<version>', 'Kubernetes version, vX.Y.Z')
    .option('--arch <list>', "architectures, comma-separated (default: this machine's)")
    .option('--mirror <m>', 'global, cn or a prefix URL (repeatable; env KUBEON_MIRROR)', collect)
    .option('--image-repo <repo>', 'image repository tried first (repeatable)', collect)
    .option('--cni <name>', 'calico, cilium or none', 'calico')
    .option('--allow-dot-zero', 'accept an X.Y.0 release')
    .action(
      async (
        version: string,
        opts: {
          arch?: string;
          mirror?: string[];
          imageRepo?: string[];
          cni?: string;
          allowDotZero?: boolean;
        },
        command: Command,
      ) => {
        const ctx = makeCtx(command);
        const { checkVersionSupported } = await import('../../artifacts/catalog.js');
        const { mirrorList } = await import('../../artifacts/mirrors.js');
        const v = checkVersionSupported(version, { allowDotZero: Boolean(opts.allowDotZero) });
        const cni = parseCni(opts.cni);
        const { componentView } = await import('../../artifacts/support.js');
        const view = componentView(v, {
          arches: parseArches(opts.arch),
          mirrors: mirrorList(opts.mirror, ctx.env),
          imageRepos: opts.imageRepo ?? [],
          cni,
          ...((await cachedKubeadmImages(ctx.store.cacheDir, v.version)) ?? {}),
        });
        if (ctx.out.format !== 'table') {
          ctx.out.result(view, [], []);
          return;
        }
        const lines = [
          `Kubernetes ${view.version} (minor ${view.minor}${view.patched ? '' : ', no longer patched upstream'})`,
        ];
        for (const [k, val] of Object.entries(view.components)) lines.push(`  ${k.padEnd(12)} ${val}`);
        const fk = view.fromKubeadm;
        lines.push(
          fk.note
            ? `  pause/etcd/coredns: ${fk.note}`
            : `  pause        ${fk.pause}\n  etcd         ${fk.etcd}\n  coredns      ${fk.coredns}`,
        );
        lines.push('Files (tried in order; sha256 from the checksum URL):');
        for (const f of view.files) {
          lines.push(`  ${f.name} (${f.component} ${f.version} linux/${f.arch})`);
          for (const u of f.urls) lines.push(`    ${u}`);
          lines.push(`    sha256: ${f.checksumUrl}`);
        }
        lines.push('Images (tried in order):');
        for (const i of view.images)
          lines.push(
            `  ${i.image}${i.candidates.length > 1 || i.candidates[0] !== i.image ? ` <- ${i.candidates.join(', ')}` : ''}`,
          );
        ctx.out.text(lines.join('\n'));
      },
    );
  return [support, component];
}

/** pause/etcd/coredns from a kubeadm already in the cache; nothing is downloaded for a view. */
async function cachedKubeadmImages(
  cacheDir: string,
  version: string,
): Promise<{ kubeadm: KubeadmImages } | undefined> {
  const arch = archOf(process.arch);
  if (!arch || process.platform !== 'linux') return undefined;
  const cache = new ArtifactCache(cacheDir);
  const entry = await cache.lookup(fileKey('kubeadm', version, arch, 'kubeadm'));
  // A kubeadm that only a mirror vouched for is not run just to show a view.
  const { mirrorTrusted } = await import('../../artifacts/fetch.js');
  if (!entry || mirrorTrusted(entry)) return undefined;
  try {
    await stat(cache.blobPath(entry.sha256));
    if (!(await cache.verify(entry.sha256))) return undefined;
    return { kubeadm: await kubeadmImageList(cache.blobPath(entry.sha256), version, entry.sha256) };
  } catch {
    return undefined;
  }
}
