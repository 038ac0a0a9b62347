import { nodeBundle } from '../../artifacts/bundle.js';
import { ensureArtifacts } from '../../artifacts/ensure.js';
import { ImagePins } from '../../artifacts/image-pins.js';
import { renderImageImportScript } from '../../artifacts/import-script.js';
import { type Arch, archOf } from '../../artifacts/plan.js';
import { raw, script } from '../../fleet/script.js';
import { nodeComponents } from '../../render/inputs.js';
import { bundlesFor, distribute } from '../distribute.js';
import type { NodeResult, Phase } from '../phase.js';
import { type CreateContext, type CreateData, runEach } from './data.js';

/**
 * Artifacts: fetch and verify everything the version needs into the control machine's cache (and,
 * offline, every image), then get each node's bundle to /opt/kubeon/<version> by fan-out, and import
 * the image archives into containerd once it runs. Only the first step is on the control machine,
 * so it also runs for `--dry-run` (it changes no node).
 */

function archesOf(ctx: CreateContext): Arch[] {
  const set = new Set<Arch>(ctx.hosts.map((h) => h.facts.arch));
  // kubeadm runs on this machine to list the version's images (pause tag for containerd's sandbox).
  const own = archOf(process.arch);
  if (own) set.add(own);
  return [...set].sort();
}

export const fetchPhase: Phase<CreateData> = {
  id: 'fetch',
  title: 'fetch and verify artifacts',
  always: true,
  readOnly: true,
  async run(ctx) {
    // On assumed facts nothing is contacted, downloads included: the plan names no file sizes then.
    if (ctx.dryRun && ctx.data.assumeOs) return [];
    const set = await ensureArtifacts({
      version: ctx.data.version.version,
      allowDotZero: true,
      arches: archesOf(ctx),
      mirrors: ctx.spec.artifacts.mirrors,
      imageRepos: ctx.spec.artifacts.imageRepo,
      images: ctx.spec.artifacts.offline,
      imagePins: new ImagePins(ctx.store.imageDigests, {
        acceptNew: Boolean(ctx.data.acceptNewImageDigests),
      }),
      kubeadmImages: true,
      cni: ctx.spec.network.cni,
      updater: ctx.spec.controlPlane.mode === 'updater',
      manifest: true,
      ...(ctx.spec.network.cniManifest ? { ciliumManifest: ctx.spec.network.cniManifest } : {}),
      cacheDir: ctx.store.cacheDir,
      env: ctx.env,
      warn: (m) => ctx.warn(m),
    });
    ctx.data.artifacts = set;
    ctx.data.components = nodeComponents(ctx.spec, set.version, set.kubeadmImages!);
    return [];
  },
};

export const distributePhase: Phase<CreateData> = {
  id: 'distribute',
  title: 'ship artifacts to the nodes',
  nodes: (ctx) => ctx.hosts,
  plan: (ctx, h) =>
    h && ctx.data.artifacts
      ? [
          `copy ${nodeBundle(ctx.data.artifacts, h.node.role, h.facts.arch).files.length} verified files to /opt/kubeon/${ctx.data.version.version}`,
        ]
      : [],
  async run(ctx, hosts): Promise<NodeResult[]> {
    const set = ctx.data.artifacts!;
    const result = await distribute({
      // The fan-out uses run and put only.
      fleet: ctx.fleet,
      version: set.version.version,
      bundles: bundlesFor(
        set,
        hosts.map((h) => ({ target: h.target, role: h.node.role, arch: h.facts.arch })),
      ),
      scratchDir: ctx.store.cacheDir,
    });
    return result.nodes.map((n) => ({ node: n.node, ...(n.error ? { error: n.error } : {}) }));
  },
};

export const imagesPhase: Phase<CreateData> = {
  id: 'images',
  title: 'import container images (offline)',
  nodes: (ctx) => (ctx.spec.artifacts.offline ? ctx.hosts : []),
  plan: (ctx, h) =>
    h && ctx.data.artifacts
      ? [
          `import ${nodeBundle(ctx.data.artifacts, h.node.role, h.facts.arch).images.length} image archives into containerd (k8s.io)`,
        ]
      : [],
  run: (ctx, hosts) =>
    runEach(ctx, hosts, (h) => {
      const { images } = nodeBundle(ctx.data.artifacts!, h.node.role, h.facts.arch);
      return script('import container images', raw(renderImageImportScript(images)));
    }),
};
