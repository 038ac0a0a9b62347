/**
 * Builds the stand-ins as single-file Node executables for the loopback mirror. Each build is
 * cached under lab/standins/.build by component, version and a hash of the stand-ins' sources, so
 * a changed stand-in is rebuilt and an unchanged one is reused.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CNI_PLUGINS } from '../mirror/layout.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD_DIR = join(HERE, '.build');

const ENTRIES: Record<string, string> = {
  kubeadm: 'bin/kubeadm.ts',
  kubelet: 'bin/kubelet.ts',
  kubectl: 'bin/kubectl.ts',
  containerd: 'bin/containerd.ts',
  ctr: 'bin/ctr.ts',
  crictl: 'bin/crictl.ts',
  runc: 'bin/runc.ts',
};

/** Executables shipped next to containerd that the lab never runs; they only answer --version. */
const INERT = ['containerd-shim', 'containerd-shim-runc-v1', 'containerd-shim-runc-v2', 'containerd-stress'];

export const STANDIN_COMPONENTS = [...Object.keys(ENTRIES), ...INERT, ...CNI_PLUGINS];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** A digest of every stand-in source file: the mirror's producerId, and part of the cache key. */
export function standinSourceHash(): string {
  const h = createHash('sha256');
  for (const f of [...sourceFiles(join(HERE, 'bin')), ...sourceFiles(join(HERE, 'lib'))].sort()) {
    h.update(f.slice(HERE.length)).update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

function entryFor(component: string): { entry: string; define: Record<string, string> } {
  const entry = ENTRIES[component];
  if (entry) return { entry, define: {} };
  if (INERT.includes(component))
    return { entry: 'bin/inert.ts', define: { __STANDIN_COMPONENT__: JSON.stringify(component) } };
  if (CNI_PLUGINS.includes(component))
    return { entry: 'bin/cni.ts', define: { __STANDIN_COMPONENT__: JSON.stringify(component) } };
  throw new Error(`no stand-in for component "${component}" (known: ${STANDIN_COMPONENTS.join(', ')})`);
}

/** Builds of older sources are never used again; keep the cache from growing with every edit. */
function pruneStale(hash: string): void {
  if (!existsSync(BUILD_DIR)) return;
  for (const d of readdirSync(BUILD_DIR)) {
    if (/-[0-9a-f]{16}$/.test(d) && !d.endsWith(`-${hash}`))
      rmSync(join(BUILD_DIR, d), { recursive: true, force: true });
  }
}

/**
 * Returns the path of a single-file executable (`#!/usr/bin/env node`, mode 0755) standing in for
 * `component` at `version`. The stand-ins are JavaScript, so every arch gets the same program.
 */
export async function standinExecutable(component: string, version: string, arch: string): Promise<string> {
  if (arch !== 'amd64' && arch !== 'arm64') throw new Error(`unsupported arch "${arch}"`);
  if (!/^v?\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a release version: "${version}"`);
  const { entry, define } = entryFor(component);
  const hash = standinSourceHash();
  const out = join(BUILD_DIR, `${component}-${version}-${hash}`, component);
  if (existsSync(out)) return out;
  pruneStale(hash);
  mkdirSync(dirname(out), { recursive: true });
  // The repository is "type": "module"; these bundles are CommonJS, as they are on a node's /usr/bin.
  const scope = join(BUILD_DIR, 'package.json');
  if (!existsSync(scope)) writeFileSync(scope, '{ "type": "commonjs" }\n');
  const tmp = `${out}.${process.pid}.${randomUUID()}.tmp`;
  await build({
    entryPoints: [join(HERE, entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: tmp,
    banner: { js: '#!/usr/bin/env node' },
    define: { __STANDIN_VERSION__: JSON.stringify(version), ...define },
    logLevel: 'error',
    legalComments: 'none',
  });
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  return out;
}
