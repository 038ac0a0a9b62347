// The downloader against the lab's loopback mirror: faults, resume, fallback, cache and the CLI's JSON.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildMirrorTree,
  readTreeManifest,
  type TreeManifest,
  trustedDigestsText,
} from '../../lab/mirror/build.js';
import { type Mirror, startMirror } from '../../lab/mirror/server.js';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { kubeon as runKubeon } from '../cli/harness.js';

const VERSION = 'v1.31.14';
const v = checkVersionSupported(VERSION);
const KUBELET = `/dl.k8s.io/release/${VERSION}/bin/linux/amd64/kubelet`;
const KUBEADM = `/dl.k8s.io/release/${VERSION}/bin/linux/amd64/kubeadm`;

let root: string;
let tree: TreeManifest;
let upstream: Mirror;
let a: Mirror;
let b: Mirror;
let home: string;
/** The lab's own list of trusted digests: the stand-ins are not upstream's bytes. */
let trustedDigests: string;

const sha = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');
const digestOf = (p: string) => tree.files.find((f) => f.path === p)!.sha256;

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    KUBEON_HOME: home,
    KUBEON_TRUSTED_DIGESTS: trustedDigests,
    KUBEON_CHECKSUM_SOURCE: upstream.url,
    PATH: process.env.PATH,
    ...extra,
  };
}

const download = (args: string[], e = env()) =>
  runKubeon(['-o', 'json', 'download', VERSION, '--arch', 'amd64', ...args], e);

/** Every blob in the cache is named by its own digest, and nothing half-done is left behind. */
async function expectCacheClean(): Promise<void> {
  const dir = path.join(home, 'cache', 'sha256');
  for (const name of await readdir(dir)) expect(sha(await readFile(path.join(dir, name)))).toBe(name);
  const partial = await readdir(path.join(home, 'cache', 'partial')).catch(() => []);
  expect(partial).toEqual([]);
}

/** A trusted-digests file listing every stand-in except `paths` (which then need a checksum file). */
async function trustedExcept(...paths: string[]): Promise<string> {
  const file = path.join(home, `trusted-${paths.length}`);
  const files = tree.files.filter((f) => !paths.includes(f.path));
  await writeFile(file, trustedDigestsText({ ...tree, files }));
  return file;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kubeon-art-mirror-'));
  tree = await buildMirrorTree(
    root,
    {
      arches: ['amd64'],
      kubernetes: [VERSION],
      containerd: [v.containerd],
      runc: [v.runc],
      crictl: [v.crictl],
      cni: [v.cni],
    },
    { bigFiles: { kubelet: 3 << 20 } },
  );
  trustedDigests = path.join(root, 'trusted-digests');
  await writeFile(trustedDigests, trustedDigestsText(tree));
  upstream = await startMirror({ root });
  a = await startMirror({ root });
  b = await startMirror({ root });
});

afterAll(async () => {
  await Promise.all([upstream?.close(), a?.close(), b?.close()]);
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'kubeon-art-home-'));
  for (const m of [upstream, a, b]) {
    m.setFaults([]);
    m.clearLog();
  }
});

describe('kubeon download', () => {
  it('fills the cache with verified files, then a second run transfers nothing from the mirror', async () => {
    const first = await download(['--mirror', a.url]);
    expect(first.code, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as {
      version: string;
      files: { name: string; sha256: string; bytes: number; source: string; url: string }[];
    };
    expect(out.version).toBe(VERSION);
    expect(out.files).toHaveLength(7);
    for (const f of out.files) {
      expect(Object.keys(f).sort()).toEqual(['bytes', 'name', 'sha256', 'source', 'url']);
      expect(f.source).toBe('downloaded');
      expect(f.url.startsWith(`${a.url}/`)).toBe(true);
      expect(f.sha256).toBe(digestOf(new URL(f.url).pathname));
    }
    expect(out.files.find((f) => f.name === 'linux/amd64/kubelet')!.bytes).toBe(3 << 20);
    await expectCacheClean();

    a.clearLog();
    const second = await download(['--mirror', a.url]);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as typeof out;
    expect(again.files.map((f) => f.source)).toEqual(Array(7).fill('cached'));
    expect(a.log()).toEqual([]);
    // Only the small checksum files are read again, from the trusted source, to notice upstream changes.
    expect(upstream.log().every((e) => /\.sha256(sum)?$/.test(e.path))).toBe(true);
  });

  it('resumes a connection dropped mid-file with a Range request and verifies the result', async () => {
    a.setFaults([{ kind: 'drop', path: KUBELET, afterBytes: 1 << 20 }]);
    const r = await download(['--mirror', a.url]);
    expect(r.code, r.stderr).toBe(0);
    const hits = a.log().filter((e) => e.path === KUBELET);
    expect(hits).toHaveLength(2);
    expect(hits[0]!.fault).toBe('drop');
    // The client keeps what reached it (some of what the server wrote may die with the socket).
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(hits[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(hits[0]!.bytes);
    expect(hits[1]!.status).toBe(206);
    expect(resumedAt + hits[1]!.bytes).toBe(3 << 20);
    await expectCacheClean();
    const entry = await new ArtifactCache(path.join(home, 'cache')).lookup(
      `kubelet/${VERSION}/amd64/kubelet`,
    );
    expect(entry?.sha256).toBe(digestOf(KUBELET));
  });

  it('retries a connection dropped before the first megabyte on the same mirror, with backoff', async () => {
    a.setFaults([{ kind: 'drop', path: KUBELET, afterBytes: 0, times: 2 }]);
    const r = await download(['--mirror', a.url, '--mirror', b.url]);
    expect(r.code, r.stderr).toBe(0);
    const hits = a.log().filter((e) => e.path === KUBELET);
    expect(hits.map((h) => h.fault ?? 'ok')).toEqual(['drop', 'drop', 'ok']);
    expect(b.log().filter((e) => e.path === KUBELET)).toEqual([]);
    await expectCacheClean();
  });

  it('resumes a partial file a killed earlier run left, across runs', async () => {
    const digest = digestOf(KUBELET);
    const bytes = await readFile(path.join(root, KUBELET));
    await mkdir(path.join(home, 'cache', 'partial'), { recursive: true });
    await writeFile(path.join(home, 'cache', 'partial', `${digest}.part`), bytes.subarray(0, 1_000_000));
    const r = await download(['--mirror', a.url]);
    expect(r.code, r.stderr).toBe(0);
    const hit = a.log().find((e) => e.path === KUBELET)!;
    expect(hit.range).toBe('bytes=1000000-');
    expect(hit.bytes).toBe(bytes.length - 1_000_000);
    await expectCacheClean();
  });

  it('rejects a corrupted file, uses the next mirror and keeps the cache clean', async () => {
    a.setFaults([{ kind: 'corrupt', path: KUBEADM }]);
    const r = await download(['--mirror', a.url, '--mirror', b.url]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { files: { name: string; url: string; source: string }[] };
    expect(out.files.find((f) => f.name === 'linux/amd64/kubeadm')!.url).toBe(`${b.url}${KUBEADM}`);
    expect(r.stderr).toMatch(/sha256 mismatch/);
    await expectCacheClean();
  });

  it('refuses a file no trusted digest covers, naming --trust-mirror-checksums, and downloads nothing of it', async () => {
    const r = await download(
      ['--mirror', a.url],
      env({
        KUBEON_CHECKSUM_SOURCE: 'http://127.0.0.1:9',
        KUBEON_TRUSTED_DIGESTS: await trustedExcept(KUBEADM),
      }),
    );
    expect(r.code).toBe(1);
    const error = r.stderr.trim().split('\n').pop()!;
    expect(error).toMatch(
      /^error: refusing 1 of 7 files: no trusted checksum \(kubeadm v1\.31\.14 linux\/amd64/,
    );
    expect(error).toContain('--trust-mirror-checksums');
    expect(a.log().filter((e) => e.path.startsWith(KUBEADM))).toEqual([]);
    await expectCacheClean();
  });

  it("--trust-mirror-checksums: the mirror's own checksum, announced and recorded; a wrong one is still refused", async () => {
    a.setFaults([{ kind: 'checksum', path: `${KUBEADM}.sha256` }]);
    const r = await download(
      ['--mirror', a.url, '--mirror', b.url, '--trust-mirror-checksums'],
      env({
        KUBEON_CHECKSUM_SOURCE: 'http://127.0.0.1:9',
        KUBEON_TRUSTED_DIGESTS: await trustedExcept(KUBEADM),
      }),
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { files: { name: string; url: string; sha256: string }[] };
    const kubeadm = out.files.find((f) => f.name === 'linux/amd64/kubeadm')!;
    expect(kubeadm.url).toBe(`${b.url}${KUBEADM}`);
    expect(kubeadm.sha256).toBe(digestOf(KUBEADM));
    expect(r.stderr).toContain(
      `--trust-mirror-checksums: kubeadm v1.31.14 linux/amd64 is verified only against the mirror's own ${b.url}${KUBEADM}.sha256`,
    );
    const entry = await new ArtifactCache(path.join(home, 'cache')).lookup(
      `kubeadm/${VERSION}/amd64/kubeadm`,
    );
    expect(entry?.checksumSource).toBe(`mirror ${b.url}${KUBEADM}.sha256 (--trust-mirror-checksums)`);
    await expectCacheClean();
  });

  it('falls back to the next mirror on a 404', async () => {
    a.setFaults([{ kind: 'status', path: '/github.com/*', status: 404 }]);
    const r = await download(['--mirror', `${a.url},${b.url}`]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { files: { name: string; url: string }[] };
    for (const f of out.files) {
      const expected = f.name.includes('kube') && !f.name.includes('.tar') ? a.url : b.url;
      expect(f.url.startsWith(expected), f.name).toBe(true);
    }
  });

  it('fails with exit 1 and one error naming every URL tried when all mirrors fail', async () => {
    a.setFaults([{ kind: 'status', path: KUBEADM, status: 404 }]);
    b.setFaults([{ kind: 'status', path: KUBEADM, status: 503 }]);
    const r = await download(['--mirror', a.url, '--mirror', b.url]);
    expect(r.code).toBe(1);
    // Grouped by cause: one short line per failed URL, then the fix.
    const error = r.stderr.slice(r.stderr.indexOf('error: '));
    expect(error.trim().split('\n')).toEqual([
      'error: 1 of 7 files could not be fetched:',
      `  HTTP 404 from ${new URL(a.url).host}: ${a.url}${KUBEADM}`,
      `  HTTP 503 from ${new URL(b.url).host}: ${b.url}${KUBEADM}`,
      expect.stringMatching(/^ \(fix: check the mirror list/),
    ]);
    await expectCacheClean();
  });

  it('re-fetches a cached file whose bytes no longer match, and a file upstream changed', async () => {
    expect((await download(['--mirror', a.url])).code).toBe(0);
    const blob = path.join(home, 'cache', 'sha256', digestOf(KUBEADM));
    await truncate(blob, 10);
    a.clearLog();
    const r = await download(['--mirror', a.url]);
    const out = JSON.parse(r.stdout) as { files: { name: string; source: string }[] };
    expect(out.files.filter((f) => f.source === 'downloaded').map((f) => f.name)).toEqual([
      'linux/amd64/kubeadm',
    ]);
    await expectCacheClean();

    // Upstream publishes new bytes under the same name: the checksum changes, so the file is fetched again.
    const changedRoot = await mkdtemp(path.join(tmpdir(), 'kubeon-art-changed-'));
    await buildMirrorTree(
      changedRoot,
      {
        arches: ['amd64'],
        kubernetes: [VERSION],
        containerd: [v.containerd],
        runc: [v.runc],
        crictl: [v.crictl],
        cni: [v.cni],
      },
      { bigFiles: { kubelet: 3 << 20, kubeadm: 4096 } },
    );
    const changed = await startMirror({ root: changedRoot });
    try {
      // The organisation's own list follows its rebuilt binaries.
      const list = path.join(changedRoot, 'trusted');
      await writeFile(list, trustedDigestsText((await readTreeManifest(changedRoot))!));
      const r2 = await download(['--mirror', changed.url], env({ KUBEON_TRUSTED_DIGESTS: list }));
      expect(r2.code, r2.stderr).toBe(0);
      const out2 = JSON.parse(r2.stdout) as { files: { name: string; source: string; bytes: number }[] };
      const kubeadm = out2.files.find((f) => f.name === 'linux/amd64/kubeadm')!;
      expect(kubeadm.source).toBe('downloaded');
      expect(kubeadm.bytes).toBeGreaterThanOrEqual(4096);
      expect(out2.files.filter((f) => f.source === 'downloaded')).toHaveLength(1);
    } finally {
      await changed.close();
      await rm(changedRoot, { recursive: true, force: true });
    }
  });

  it('goes through HTTP_PROXY when set, and around it for NO_PROXY hosts', async () => {
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      const upstreamReq = http.request(req.url!, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstreamReq.on('error', () => res.destroy());
      req.pipe(upstreamReq);
    });
    // undici tunnels through the proxy with CONNECT.
    proxy.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const out = connect(Number(port), host!, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        out.write(head);
        out.pipe(socket).pipe(out);
      });
      out.on('error', () => socket.destroy());
      socket.on('error', () => out.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      // kubeadm's digest is not in the list, so its checksum file is read from the trusted source, via the proxy.
      const trusted = await trustedExcept(KUBEADM);
      const r = await download(
        ['--mirror', a.url],
        env({ HTTP_PROXY: proxyUrl, KUBEON_TRUSTED_DIGESTS: trusted }),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(seen).toContain(`CONNECT ${new URL(a.url).host}`);
      expect(seen).toContain(`CONNECT ${new URL(upstream.url).host}`);
      seen.length = 0;
      const direct = await download(
        ['--mirror', a.url],
        env({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1', KUBEON_TRUSTED_DIGESTS: trusted }),
      );
      expect(direct.code, direct.stderr).toBe(0);
      expect(seen).toEqual([]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('prunes what no cluster uses', async () => {
    expect((await download(['--mirror', a.url])).code).toBe(0);
    const cache = new ArtifactCache(path.join(home, 'cache'));
    const kept = await cache.prune(new Set([VERSION]));
    expect(kept.blobs).toEqual([]);
    const r = await runKubeon(['-o', 'json', 'download', '--prune'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).removedBlobs).toBe(7);
    expect(await readdir(path.join(home, 'cache', 'sha256'))).toEqual([]);
  });

  it('refuses bad input with exit 2 before contacting anything', async () => {
    expect((await download(['--mirror', 'ftp://x'])).code).toBe(2);
    const r = await runKubeon(['download', 'v1.31.0', '--mirror', a.url], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/v1\.31\.0 is a \.0 release.*--allow-dot-zero/);
    expect((await runKubeon(['download', 'v1.29.5'], env())).stderr).toMatch(
      /minor 1\.29 is not in the catalog/,
    );
    expect(a.log()).toEqual([]);
  });
});

describe('kubeon view', () => {
  it('view support lists the catalog offline, quickly', async () => {
    const t = Date.now();
    const r = await runKubeon(['-o', 'json', 'view', 'support', '--offline'], env());
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { minor: string; latest?: string; patched: boolean }[];
    expect(rows.map((x) => x.minor)).toEqual([
      '1.30',
      '1.31',
      '1.32',
      '1.33',
      '1.34',
      '1.35',
      '1.36',
      '1.37',
    ]);
    expect(rows.filter((x) => x.patched).map((x) => x.minor)).toEqual(['1.35', '1.36', '1.37']);
    expect(rows.every((x) => x.latest === null)).toBe(true);
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('view support reads stable-1.Y.txt through the mirrors and does not hang on a dead one', async () => {
    const r = await runKubeon(
      ['-o', 'json', 'view', 'support', '--mirror', 'http://127.0.0.1:9', '--mirror', a.url],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { minor: string; latest: string | null; latestUnknown?: string }[];
    expect(rows.find((x) => x.minor === '1.31')!.latest).toBe(VERSION);
    // Issue 15 item 6: JSON keeps latest: null and says why.
    const unknown = rows.find((x) => x.minor === '1.33')!;
    expect(unknown.latest).toBeNull();
    expect(unknown.latestUnknown).toContain('127.0.0.1:9 refused the connection');
    expect(unknown.latestUnknown).toMatch(/HTTP 404 from 127\.0\.0\.1/);
    expect(r.stderr).toContain('LATEST unknown for');

    a.setFaults([{ kind: 'slow', path: '/dl.k8s.io/*', delayMs: 20_000 }]);
    const t = Date.now();
    const slow = await runKubeon(['view', 'support', '--mirror', a.url], env());
    expect(slow.code).toBe(0);
    expect(Date.now() - t).toBeLessThan(6000);
    expect(slow.stdout).toMatch(/1\.31\s+unknown/);
  });

  it('view component prints versions and the URLs in mirror order, offline', async () => {
    const r = await runKubeon(
      ['-o', 'json', 'view', 'component', 'v1.36.3', '--arch', 'amd64,arm64', '--mirror', 'cn,global'],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as {
      components: Record<string, string>;
      files: { name: string; arch: string; urls: string[]; checksumUrl: string }[];
      images: { image: string; candidates: string[] }[];
    };
    expect(view.components.containerd).toMatch(/^2\./);
    expect(view.files).toHaveLength(14);
    const kubeadm = view.files.find((f) => f.name === 'kubeadm' && f.arch === 'arm64')!;
    expect(kubeadm.urls).toEqual([
      'https://files.m.daocloud.io/dl.k8s.io/release/v1.36.3/bin/linux/arm64/kubeadm',
      'https://dl.k8s.io/release/v1.36.3/bin/linux/arm64/kubeadm',
    ]);
    expect(kubeadm.checksumUrl).toBe('https://dl.k8s.io/release/v1.36.3/bin/linux/arm64/kubeadm.sha256');
    const haproxy = view.images.find((i) => i.image.includes('haproxy'))!;
    expect(haproxy.candidates[0]).toMatch(/^docker\.m\.daocloud\.io\/library\/haproxy:/);
    expect(a.log()).toEqual([]);
  });
});
