/**
 * ctr stand-in: `images import` checks that the file is an OCI image layout or a docker-save
 * archive and records its image names with the containerd stand-in; `images ls` lists them.
 * Flags follow urfave/cli (single or double dash, `flag provided but not defined`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CallLog, digest } from '../lib/calllog.js';
import { criCall, type ImageRecord } from '../lib/cri.js';
import { normalizeRef } from '../lib/images.js';
import { tarEntries } from '../lib/tar.js';
import { builtVersionText } from '../lib/versions.js';

const VERSION = builtVersionText().replace(/^v/, '');
const log = new CallLog('ctr', VERSION);

class CliError extends Error {}

function take(
  argv: string[],
  spec: Record<string, 'bool' | 'string'>,
): { opts: Record<string, string | boolean>; rest: string[] } {
  const opts: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || rest.length) {
      rest.push(a);
      continue;
    }
    const [name, inline] = a.replace(/^--?/, '').split(/=(.*)/s);
    const kind = spec[name!];
    if (!kind) throw new CliError(`flag provided but not defined: -${name}`);
    if (kind === 'bool') opts[name!] = inline === undefined ? true : inline === 'true';
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CliError(`flag needs an argument: -${name}`);
      opts[name!] = v;
    }
  }
  return { opts, rest };
}

function imageNames(file: string): ImageRecord[] {
  const data = readFileSync(file);
  const entries = tarEntries(data);
  const now = new Date().toISOString();
  const index = entries.get('index.json');
  if (index && entries.has('oci-layout')) {
    const idx = JSON.parse(index.toString()) as {
      manifests?: { digest: string; size: number; annotations?: Record<string, string> }[];
    };
    const out: ImageRecord[] = [];
    for (const m of idx.manifests ?? []) {
      const name =
        m.annotations?.['io.containerd.image.name'] ?? m.annotations?.['org.opencontainers.image.ref.name'];
      const blob = entries.get(`blobs/${m.digest.replace(':', '/')}`);
      if (!blob)
        throw new CliError(
          `ctr: failed to import ${file}: blob ${m.digest} referenced by index.json is missing`,
        );
      if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== m.digest) {
        throw new CliError(`ctr: failed to import ${file}: digest mismatch for ${m.digest}`);
      }
      if (name)
        out.push({
          name: name.includes('/') || name.includes(':') ? name : `import-${name}`,
          digest: m.digest,
          size: m.size,
          importedAt: now,
        });
    }
    return out;
  }
  const manifest = entries.get('manifest.json');
  if (manifest) {
    const list = JSON.parse(manifest.toString()) as { RepoTags?: string[]; Config: string }[];
    return list.flatMap((m) =>
      (m.RepoTags ?? []).map((t) => ({
        // containerd's archive importer normalises docker-save tags (haproxy:2.8 -> docker.io/library/haproxy:2.8)
        name: normalizeRef(t),
        digest: `sha256:${digest(entries.get(m.Config) ?? '')}`,
        size: data.length,
        importedAt: now,
      })),
    );
  }
  throw new CliError(`ctr: unrecognized image format`);
}

async function main(argv: string[]): Promise<void> {
  const g = take(argv, {
    address: 'string',
    a: 'string',
    namespace: 'string',
    n: 'string',
    debug: 'bool',
    timeout: 'string',
    'connect-timeout': 'string',
  });
  const address = String(g.opts.address ?? g.opts.a ?? '/run/containerd/containerd.sock');
  const ns = String(g.opts.namespace ?? g.opts.n ?? process.env.CONTAINERD_NAMESPACE ?? 'default');
  const [cmd, sub, ...rest] = g.rest;
  log.write('call', { argv });
  if (cmd === 'version' || cmd === undefined) {
    const info = await criCall<{ version: string }>(address, 'GET', '/v1/version');
    process.stdout.write(
      `Client:\n  Version:  v${VERSION}\n  Revision: standin\n  Go version: go1.23\n\nServer:\n  Version:  ${info.version}\n  Revision: standin\n  UUID: standin\n`,
    );
    return;
  }
  if (cmd !== 'images' && cmd !== 'image' && cmd !== 'i')
    throw new CliError(`ctr: stand-in implements only "images" and "version", not "${cmd}"`);
  if (sub === 'import') {
    const { opts, rest: files } = take(rest, {
      'all-platforms': 'bool',
      platform: 'string',
      'base-name': 'string',
      digests: 'bool',
      'index-name': 'string',
      'no-unpack': 'bool',
      snapshotter: 'string',
      label: 'string',
      local: 'bool',
      'skip-digest-for-named': 'bool',
    });
    if (files.length !== 1) throw new CliError('ctr: expected 1 argument: the archive to import');
    const images = imageNames(files[0]!).map((i) => ({ ...i, name: i.name }));
    if (!images.length)
      throw new CliError(
        `ctr: ${files[0]} names no image (no io.containerd.image.name or org.opencontainers.image.ref.name annotation)`,
      );
    await criCall(
      address,
      'POST',
      '/v1/images',
      images.map((i) => ({ ...i, namespace: ns })),
    );
    for (const i of images) process.stdout.write(`unpacking ${i.name} (${i.digest})...done\n`);
    log.write('import', { namespace: ns, images: images.map((i) => i.name), options: opts });
    return;
  }
  if (sub === 'ls' || sub === 'list') {
    const { opts } = take(rest, { quiet: 'bool', q: 'bool' });
    const images = (
      await criCall<(ImageRecord & { namespace?: string })[]>(address, 'GET', '/v1/images')
    ).filter((i) => (i.namespace ?? 'default') === ns);
    if (opts.quiet || opts.q) for (const i of images) process.stdout.write(`${i.name}\n`);
    else {
      process.stdout.write('REF TYPE DIGEST SIZE PLATFORMS LABELS\n');
      for (const i of images)
        process.stdout.write(
          `${i.name} application/vnd.oci.image.index.v1+json ${i.digest} ${i.size} linux/amd64 -\n`,
        );
    }
    return;
  }
  throw new CliError(`ctr: stand-in implements "images import" and "images ls", not "images ${sub ?? ''}"`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    log.write('failed', { error: (e as Error).message });
    process.exit(1);
  },
);
