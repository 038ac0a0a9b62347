import { Command } from 'commander';
import { ArtifactCache } from '../../artifacts/cache.js';
import { ARCHES, type Arch, archOf } from '../../artifacts/plan.js';
import { createProgress, formatBytes } from '../../artifacts/progress.js';
import { badInput } from '../../core/errors.js';
import type { ContextFactory } from '../context.js';
import { collect } from '../node-flags.js';

interface DownloadOptions {
  arch?: string;
  offline?: boolean;
  mirror?: string[];
  imageRepo?: string[];
  cni?: string;
  allowDotZero?: boolean;
  prune?: boolean;
  concurrency?: string;
  trustMirrorChecksums?: boolean;
  acceptNewImageDigests?: boolean;
}

/** The CNI named by --cni, checked. */
export function parseCni(value: string | undefined): 'calico' | 'cilium' | 'none' {
  const cni = value ?? 'calico';
  if (cni !== 'calico' && cni !== 'cilium' && cni !== 'none')
    throw badInput(`CNI "${cni}" is not supported`, 'use --cni calico, cilium or none');
  return cni;
}

export function parseArches(value: string | undefined): Arch[] {
  if (!value) {
    const own = archOf(process.arch);
    return own ? [own] : ['amd64'];
  }
  const list = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const a of list) {
    if (!ARCHES.includes(a as Arch))
      throw badInput(`architecture "${a}" is not supported`, 'use --arch amd64, arm64 or amd64,arm64');
  }
  return list as Arch[];
}

export function downloadCommand(makeCtx: ContextFactory): Command {
  return new Command('download')
    .description('pre-fetch and verify the artifacts of a Kubernetes version into the cache')
    .argument('[version]', 'Kubernetes version, vX.Y.Z')
    .option('--arch <list>', "architectures, comma-separated (default: this machine's)")
    .option('--offline', 'also fetch the container images, for nodes without internet')
    .option(
      '--mirror <m>',
      'global, cn or a prefix URL; repeat or comma-separate to try in order (env KUBEON_MIRROR)',
      collect,
    )
    .option('--image-repo <repo>', 'image repository to try first (repeatable)', collect)
    .option('--cni <name>', 'CNI whose images --offline fetches: calico, cilium or none', 'calico')
    .option('--allow-dot-zero', 'accept an X.Y.0 release')
    .option('--concurrency <n>', 'parallel downloads', '4')
    .option('--prune', 'remove cached artifacts that no cluster uses')
    .option(
      '--trust-mirror-checksums',
      "accept a mirror's own checksum file for files no trusted digest covers (announced per file, recorded in the cache)",
    )
    .option(
      '--accept-new-image-digests',
      'with --offline: accept an image whose tag now resolves to another digest than the one recorded',
    )
    .action(async (version: string | undefined, opts: DownloadOptions, command: Command) => {
      const ctx = makeCtx(command);
      if (opts.prune) {
        if (version) throw badInput('--prune takes no version', 'run kubeon download --prune on its own');
        const inUse = new Set<string>();
        for (const name of await ctx.store.list()) inUse.add((await ctx.store.readSpec(name)).version);
        const removed = await new ArtifactCache(ctx.store.cacheDir).prune(inUse);
        const data = {
          kept: [...inUse].sort(),
          removedEntries: removed.entries,
          removedBlobs: removed.blobs.length,
          bytes: removed.bytes,
        };
        if (ctx.out.format === 'table') {
          ctx.out.text(
            `removed ${removed.entries.length} entries, ${removed.blobs.length} files, ${formatBytes(removed.bytes)}; kept versions: ${data.kept.join(', ') || 'none'}`,
          );
        } else ctx.out.result(data, [], []);
        return;
      }
      if (!version)
        throw badInput('download needs a Kubernetes version', 'e.g. kubeon download v1.31.2, or --prune');
      const cni = parseCni(opts.cni);
      const concurrency = Number(opts.concurrency ?? 4);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
        throw badInput(`--concurrency ${opts.concurrency} is not between 1 and 32`, 'e.g. --concurrency 4');
      }
      await ctx.store.init();
      const { ensureArtifacts } = await import('../../artifacts/ensure.js');
      const { mirrorList } = await import('../../artifacts/mirrors.js');
      const { ImagePins } = await import('../../artifacts/image-pins.js');
      const imagePins = new ImagePins(ctx.store.imageDigests, {
        acceptNew: Boolean(opts.acceptNewImageDigests),
      });
      const set = await ensureArtifacts({
        imagePins,
        version,
        allowDotZero: Boolean(opts.allowDotZero),
        arches: parseArches(opts.arch),
        mirrors: mirrorList(opts.mirror, ctx.env),
        imageRepos: opts.imageRepo ?? [],
        images: Boolean(opts.offline),
        cni,
        cacheDir: ctx.store.cacheDir,
        env: ctx.env,
        progress: createProgress(ctx.streams.stderr),
        warn: (m) => ctx.out.warn(m),
        concurrency,
        trustMirrorChecksums: Boolean(opts.trustMirrorChecksums),
      });
      const files = set.files.map((f) => ({
        name: `linux/${f.artifact.arch}/${f.name}`,
        sha256: f.sha256,
        bytes: f.bytes,
        source: f.source,
        url: f.url,
      }));
      const images = set.images.map((i) => ({
        name: `${i.image} linux/${i.arch}`,
        sha256: i.sha256,
        bytes: i.bytes,
        source: i.source,
        url: i.from,
      }));
      const data = { version: set.version.version, files, ...(opts.offline ? { images } : {}) };
      const rows = [...files, ...images];
      ctx.out.result(data, rows, [
        { header: 'NAME', value: (r) => r.name },
        { header: 'SIZE', value: (r) => formatBytes(r.bytes) },
        { header: 'SOURCE', value: (r) => r.source },
        { header: 'SHA256', value: (r) => r.sha256.slice(0, 16) },
        { header: 'FROM', value: (r) => r.url },
      ]);
    });
}
