/**
 * Fills a directory with artifacts in upstream's URL layout (see layout.ts), packaged the way
 * upstream packages them, with upstream's checksum files next to them.
 *
 * The executables inside are placeholders (a shell script naming itself) until the Kubernetes
 * stand-ins exist; `executables` lets whoever builds those plug them in. Tarballs are byte-for-byte
 * reproducible (fixed mtimes, owner 0, fixed entry order), so rebuilding a tree changes no digest and
 * a "second download transfers nothing" test survives a rebuild.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import semver from 'semver';
import * as tar from 'tar';
import {
  type Arch,
  CNI_PLUGINS,
  checksumText,
  cniPath,
  containerdBinaries,
  containerdPath,
  crictlPath,
  KUBE_BINARIES,
  kubePath,
  type MirrorSpec,
  minorOf,
  runcPath,
  runcSourceName,
  runcSumsPath,
  stableMinorPath,
  stablePath,
} from './layout.js';

/**
 * Produces one executable: its bytes, or the path of a file to copy. `component` is the executable's
 * own name (`kubeadm`, `containerd`, `ctr`, `runc`, `crictl`, `bridge`, ...); `version` is the
 * release it ships in (`v1.31.14`, `1.7.27`, `v1.2.5`, ...).
 */
export type ExecutableProducer = (component: string, version: string, arch: Arch) => Promise<Buffer | string>;

export interface BuildOptions {
  executables?: ExecutableProducer;
  /**
   * Names the producer for the rebuild check: a tree built with the same spec, options and producer
   * id is left alone. Without an id a custom producer always rebuilds.
   */
  producerId?: string;
  /**
   * Pads executables to this many bytes with deterministic pseudo-random data, for transfer
   * benchmarks. Keys: `kubelet` (every version and arch), `kubelet@v1.31.14` or
   * `kubelet@v1.31.14/amd64`; the most specific wins. The padding goes after the executable's own
   * bytes: raw for binaries, as a comment for scripts (node or sh-like), so they still run.
   */
  bigFiles?: Record<string, number>;
  /** Rebuild even if the marker says the tree is current. */
  force?: boolean;
}

export interface TreeFile {
  /** URL path, starting with `/` */
  path: string;
  sha256: string;
  bytes: number;
}

export interface TreeManifest {
  key: string;
  files: TreeFile[];
}

const MARKER = '.kubeon-mirror.json';
/** A fixed mtime makes tarballs reproducible; the date itself means nothing. */
const EPOCH = new Date('2024-01-01T00:00:00Z');

export const placeholderExecutable: ExecutableProducer = async (component, version, arch) =>
  Buffer.from(
    [
      '#!/bin/sh',
      `# kubeon lab placeholder for ${component} ${version} (linux/${arch}); not the real program.`,
      `echo "${component} ${version} linux/${arch} (kubeon lab placeholder)"`,
      'exit 0',
      '',
    ].join('\n'),
  );

/** Builds (or keeps, when current) the tree for `spec` under `dir` and returns what it holds. */
export async function buildMirrorTree(
  dir: string,
  spec: MirrorSpec,
  opts: BuildOptions = {},
): Promise<TreeManifest> {
  const key = treeKey(spec, opts);
  const markerPath = path.join(dir, MARKER);
  const previous = await readMarker(markerPath);
  if (!opts.force && previous?.key === key) {
    await writeTrustedDigests(dir, previous);
    return previous;
  }
  await mkdir(dir, { recursive: true });
  // Without a marker a half-finished build is never mistaken for a current one.
  await rm(markerPath, { force: true });
  const stage = await mkdtemp(path.join(dir, '.stage-'));
  const files: TreeFile[] = [];
  const ctx: Ctx = { dir, stage, opts, files, produce: opts.executables ?? placeholderExecutable };
  try {
    for (const version of spec.kubernetes) await buildKubernetes(ctx, version, spec.arches);
    await buildStableMarkers(ctx, spec.kubernetes);
    for (const version of spec.containerd) await buildContainerd(ctx, version, spec.arches);
    for (const version of spec.runc) await buildRunc(ctx, version, spec.arches);
    for (const version of spec.crictl) await buildCrictl(ctx, version, spec.arches);
    for (const version of spec.cni) await buildCni(ctx, version, spec.arches);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  // Versions dropped from the spec must disappear, or a test could pass against a stale file.
  const kept = new Set(files.map((f) => f.path));
  for (const old of previous?.files ?? []) {
    if (!kept.has(old.path)) await rm(local(ctx, old.path), { force: true });
  }
  const manifest: TreeManifest = { key, files };
  await writeFile(markerPath, JSON.stringify(manifest, null, 2));
  await writeTrustedDigests(dir, manifest);
  return manifest;
}

/**
 * The lab's stand-ins are not upstream's bytes, so kubeon cannot trust them by the catalog's pinned digests;
 * like an organisation that rebuilds binaries, the lab lists its own in a KUBEON_TRUSTED_DIGESTS file. It sits
 * in the tree as a dot-file, which the server never serves: kubeon reads it from disk, not from the mirror.
 */
export const trustedDigestsPath = (dir: string): string => path.join(dir, '.kubeon-trusted-digests');

export function trustedDigestsText(manifest: TreeManifest): string {
  const lines = manifest.files
    .filter((f) => !/\.(sha256|sha512|sha256sum|txt)$/.test(f.path))
    .map((f) => `${f.sha256}  https:/${f.path}`);
  return `# kubeon lab mirror: trusted digests of the stand-in files (KUBEON_TRUSTED_DIGESTS)\n${lines.join('\n')}\n`;
}

async function writeTrustedDigests(dir: string, manifest: TreeManifest): Promise<void> {
  await writeFile(trustedDigestsPath(dir), trustedDigestsText(manifest), { mode: 0o644 });
}

/** Reads the manifest a previous build left, or undefined if `dir` was not built by buildMirrorTree. */
export async function readTreeManifest(dir: string): Promise<TreeManifest | undefined> {
  return readMarker(path.join(dir, MARKER));
}

interface Ctx {
  dir: string;
  stage: string;
  opts: BuildOptions;
  files: TreeFile[];
  produce: ExecutableProducer;
}

function treeKey(spec: MirrorSpec, opts: BuildOptions): string {
  const producer = opts.executables
    ? (opts.producerId ?? `unnamed-${Date.now()}-${Math.random()}`)
    : 'placeholder';
  return createHash('sha256')
    .update(JSON.stringify({ spec, producer, big: opts.bigFiles ?? {} }))
    .digest('hex');
}

async function readMarker(file: string): Promise<TreeManifest | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as TreeManifest;
  } catch {
    return undefined;
  }
}

const local = (ctx: Ctx, urlPath: string): string =>
  path.join(ctx.dir, ...urlPath.split('/').filter(Boolean));

async function digestFile(file: string): Promise<{ sha256: string; sha512: string; bytes: number }> {
  const h256 = createHash('sha256');
  const h512 = createHash('sha512');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    h256.update(chunk);
    h512.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: h256.digest('hex'), sha512: h512.digest('hex'), bytes };
}

/** Moves a finished file into the tree atomically, so a running mirror never serves half a file. */
async function place(ctx: Ctx, urlPath: string, from: string): Promise<{ sha256: string; sha512: string }> {
  const dest = local(ctx, urlPath);
  await mkdir(path.dirname(dest), { recursive: true });
  const d = await digestFile(from);
  await rename(from, dest);
  ctx.files.push({ path: urlPath, sha256: d.sha256, bytes: d.bytes });
  return d;
}

async function placeText(ctx: Ctx, urlPath: string, text: string): Promise<void> {
  const tmp = path.join(ctx.stage, `text-${ctx.files.length}`);
  await writeFile(tmp, text);
  await place(ctx, urlPath, tmp);
}

/** Writes one executable (produced, then padded if asked) to `dest` with mode 0755. */
async function writeExecutable(ctx: Ctx, dest: string, component: string, version: string, arch: Arch) {
  await mkdir(path.dirname(dest), { recursive: true });
  const made = await ctx.produce(component, version, arch);
  if (typeof made === 'string') await copyFile(made, dest);
  else await writeFile(dest, made);
  const big = ctx.opts.bigFiles ?? {};
  const target = big[`${component}@${version}/${arch}`] ?? big[`${component}@${version}`] ?? big[component];
  if (target !== undefined) {
    const have = (await stat(dest)).size;
    if (target > have) {
      const head = typeof made === 'string' ? await readHead(made) : made.subarray(0, 256);
      await appendPadding(dest, target - have, `${component}:${version}:${arch}`, paddingStyle(head));
    }
  }
  await chmod(dest, 0o755);
  await utimes(dest, EPOCH, EPOCH);
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Padding must leave the program runnable. Binaries ignore trailing bytes; a script gets its padding
 * as one comment: a block comment for node (its base64 text never contains `*`, so never closes
 * it early), a `#` line for sh and the like.
 */
type PaddingStyle = 'raw' | 'js-comment' | 'hash-comment';
function paddingStyle(head: Buffer): PaddingStyle {
  if (head.subarray(0, 2).toString('latin1') !== '#!') return 'raw';
  const shebang = head.toString('latin1').split('\n')[0] ?? '';
  return /\bnode\b/.test(shebang) ? 'js-comment' : 'hash-comment';
}

/** AES-CTR over zeros: fast, the same bytes on every build, incompressible in `raw` style. */
async function appendPadding(file: string, bytes: number, seed: string, style: PaddingStyle): Promise<void> {
  const key = createHash('sha256').update(`kubeon-lab-padding:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const [prefix, suffix] =
    style === 'js-comment' ? ['\n/*', '*/\n'] : style === 'hash-comment' ? ['\n#', '\n'] : ['', ''];
  const chunk = Buffer.alloc(1 << 20);
  async function* blocks() {
    const body = bytes - prefix.length - suffix.length;
    if (body < 0) {
      yield Buffer.from('\n'.repeat(bytes));
      return;
    }
    yield Buffer.from(prefix);
    for (let left = body; left > 0; ) {
      const random = cipher.update(chunk);
      const piece = style === 'raw' ? random : Buffer.from(random.toString('base64'));
      const take = piece.subarray(0, Math.min(left, piece.length));
      left -= take.length;
      yield take;
    }
    yield Buffer.from(suffix);
  }
  await pipeline(blocks(), createWriteStream(file, { flags: 'a' }));
}

async function buildKubernetes(ctx: Ctx, version: string, arches: Arch[]): Promise<void> {
  for (const arch of arches) {
    for (const bin of KUBE_BINARIES) {
      const tmp = path.join(ctx.stage, `${bin}-${version}-${arch}`);
      await writeExecutable(ctx, tmp, bin, version, arch);
      const urlPath = kubePath(version, arch, bin);
      const d = await place(ctx, urlPath, tmp);
      await placeText(ctx, `${urlPath}.sha256`, checksumText.kube(d.sha256));
      await placeText(ctx, `${urlPath}.sha512`, checksumText.kube(d.sha512));
    }
  }
}

/** stable-1.Y.txt names the newest patch of each minor; stable.txt the newest release overall. */
async function buildStableMarkers(ctx: Ctx, versions: string[]): Promise<void> {
  const newestByMinor = new Map<string, string>();
  for (const v of versions) {
    const m = minorOf(v);
    const cur = newestByMinor.get(m);
    if (!cur || semver.gt(v, cur)) newestByMinor.set(m, v);
  }
  for (const [minor, v] of newestByMinor) await placeText(ctx, stableMinorPath(minor), v);
  const newest = [...newestByMinor.values()].sort(semver.rcompare)[0];
  if (newest) await placeText(ctx, stablePath, newest);
}

async function makeTarball(root: string, entries: string[], out: string): Promise<void> {
  await tar.create(
    { gzip: true, cwd: root, portable: true, mtime: EPOCH, noDirRecurse: true, file: out },
    entries,
  );
}

async function buildContainerd(ctx: Ctx, version: string, arches: Arch[]): Promise<void> {
  for (const arch of arches) {
    const root = path.join(ctx.stage, `containerd-${version}-${arch}`);
    const bins = containerdBinaries(version);
    for (const b of bins) await writeExecutable(ctx, path.join(root, 'bin', b), b, version, arch);
    const tgz = `${root}.tar.gz`;
    await makeTarball(root, ['bin', ...bins.map((b) => `bin/${b}`)], tgz);
    const urlPath = containerdPath(version, arch);
    const d = await place(ctx, urlPath, tgz);
    await placeText(
      ctx,
      `${urlPath}.sha256sum`,
      checksumText.sumLine(d.sha256, path.posix.basename(urlPath)),
    );
  }
}

async function buildRunc(ctx: Ctx, version: string, arches: Arch[]): Promise<void> {
  const lines: string[] = [];
  for (const arch of arches) {
    const tmp = path.join(ctx.stage, `runc-${version}-${arch}`);
    await writeExecutable(ctx, tmp, 'runc', version, arch);
    const urlPath = runcPath(version, arch);
    const d = await place(ctx, urlPath, tmp);
    lines.push(checksumText.sumLine(d.sha256, path.posix.basename(urlPath)));
  }
  // Upstream lists its source tarball too; the lab does not serve it, so the digest is of its name.
  const source = runcSourceName(version);
  lines.push(checksumText.sumLine(createHash('sha256').update(source).digest('hex'), source));
  await placeText(ctx, runcSumsPath(version), lines.join(''));
}

async function buildCrictl(ctx: Ctx, version: string, arches: Arch[]): Promise<void> {
  for (const arch of arches) {
    const root = path.join(ctx.stage, `crictl-${version}-${arch}`);
    await writeExecutable(ctx, path.join(root, 'crictl'), 'crictl', version, arch);
    const tgz = `${root}.tar.gz`;
    await makeTarball(root, ['crictl'], tgz);
    const urlPath = crictlPath(version, arch);
    const d = await place(ctx, urlPath, tgz);
    await placeText(ctx, `${urlPath}.sha256`, checksumText.bareLine(d.sha256));
    await placeText(ctx, `${urlPath}.sha512`, checksumText.bareLine(d.sha512));
  }
}

async function buildCni(ctx: Ctx, version: string, arches: Arch[]): Promise<void> {
  for (const arch of arches) {
    const root = path.join(ctx.stage, `cni-${version}-${arch}`);
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'LICENSE'), 'Apache License 2.0 (kubeon lab placeholder)\n');
    await writeFile(path.join(root, 'README.md'), `CNI plugins ${version} (kubeon lab placeholders)\n`);
    for (const f of ['LICENSE', 'README.md']) await utimes(path.join(root, f), EPOCH, EPOCH);
    for (const p of CNI_PLUGINS) await writeExecutable(ctx, path.join(root, p), p, version, arch);
    const tgz = `${root}.tgz`;
    const names = ['LICENSE', 'README.md', ...CNI_PLUGINS].sort();
    await makeTarball(root, ['.', ...names.map((n) => `./${n}`)], tgz);
    const urlPath = cniPath(version, arch);
    const d = await place(ctx, urlPath, tgz);
    const name = path.posix.basename(urlPath);
    await placeText(ctx, `${urlPath}.sha256`, checksumText.sumLine(d.sha256, name));
    await placeText(ctx, `${urlPath}.sha512`, checksumText.sumLine(d.sha512, name));
  }
}
