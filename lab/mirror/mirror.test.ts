import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMirrorTree, type TreeManifest } from './build.js';
import {
  cniPath,
  containerdPath,
  crictlPath,
  DEFAULT_SPEC,
  kubePath,
  type MirrorSpec,
  runcPath,
  runcSumsPath,
} from './layout.js';
import { type Mirror, readAccessLog, startMirror } from './server.js';

const hex = (b: Buffer | ArrayBuffer) =>
  createHash('sha256')
    .update(Buffer.isBuffer(b) ? b : Buffer.from(b))
    .digest('hex');

/** A raw request, so paths reach the server exactly as written (fetch would normalise them). */
function rawGet(base: string, rawPath: string, headers: Record<string, string> = {}) {
  const u = new URL(base);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; error?: Error }>(
    (resolve) => {
      const req = http.request({ host: u.hostname, port: u.port, path: rawPath, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        const done = (error?: Error) =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            ...(error ? { error } : {}),
          });
        res.on('end', () => done());
        res.on('error', (e) => done(e));
        res.on('aborted', () => done(new Error('aborted')));
      });
      req.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error }));
      req.end();
    },
  );
}

async function tarEntries(data: Buffer): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeon-mirror-tar-'));
  const file = path.join(dir, 'x.tgz');
  await writeFile(file, data);
  const names: string[] = [];
  await tar.t({ file, onReadEntry: (e) => names.push(e.path) });
  await rm(dir, { recursive: true, force: true });
  return names;
}

const run = promisify(execFile);
const SPEC: MirrorSpec = DEFAULT_SPEC;
const KUBELET = kubePath('v1.31.14', 'amd64', 'kubelet');
const BIG = 2 << 20;

describe('loopback mirror', () => {
  let dir: string;
  let root: string;
  let manifest: TreeManifest;
  let mirror: Mirror;
  const get = (p: string, init: Parameters<typeof fetch>[1] = {}) => fetch(`${mirror.url}${p}`, init);
  const text = async (p: string) => (await get(p)).text();
  const bytes = async (p: string) => Buffer.from(await (await get(p)).arrayBuffer());

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeon-mirror-test-'));
    root = path.join(dir, 'root');
    manifest = await buildMirrorTree(root, SPEC, { bigFiles: { kubelet: BIG } });
    mirror = await startMirror({ root, logFile: path.join(dir, 'access.log') });
  });
  afterAll(async () => {
    await mirror?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('layout and checksum formats', () => {
    it('serves dl.k8s.io binaries with bare-hex .sha256/.sha512 and version markers', async () => {
      for (const version of SPEC.kubernetes) {
        for (const arch of SPEC.arches) {
          for (const bin of ['kubeadm', 'kubelet', 'kubectl'] as const) {
            const p = kubePath(version, arch, bin);
            const body = await bytes(p);
            expect(await text(`${p}.sha256`)).toBe(hex(body));
          }
        }
      }
      const kubeadm = await bytes(kubePath('v1.30.14', 'arm64', 'kubeadm'));
      expect(kubeadm.toString()).toMatch(/^#!\/bin\/sh\n[\s\S]*kubeadm v1\.30\.14 linux\/arm64/);
      expect(await text(`${kubePath('v1.37.1', 'amd64', 'kubectl')}.sha512`)).toMatch(/^[0-9a-f]{128}$/);
      expect(await text('/dl.k8s.io/release/stable-1.30.txt')).toBe('v1.30.14');
      expect(await text('/dl.k8s.io/release/stable-1.31.txt')).toBe('v1.31.14');
      expect(await text('/dl.k8s.io/release/stable-1.37.txt')).toBe('v1.37.1');
      expect(await text('/dl.k8s.io/release/stable.txt')).toBe('v1.37.1');
    });

    it('packages containerd like upstream: bin/ inside, sha256sum-style checksum', async () => {
      const p = containerdPath('1.7.27', 'amd64');
      const tgz = await bytes(p);
      expect(await text(`${p}.sha256sum`)).toBe(`${hex(tgz)}  containerd-1.7.27-linux-amd64.tar.gz\n`);
      const old = await tarEntries(tgz);
      expect(old).toEqual(
        expect.arrayContaining(['bin/containerd', 'bin/ctr', 'bin/containerd-shim-runc-v2']),
      );
      expect(old).toContain('bin/containerd-shim-runc-v1');
      const v2 = await tarEntries(await bytes(containerdPath('2.2.1', 'arm64')));
      expect(v2).toContain('bin/containerd-shim-runc-v2');
      expect(v2).not.toContain('bin/containerd-shim-runc-v1');
    });

    it('serves runc binaries with one runc.sha256sum listing every arch', async () => {
      const sums = await text(runcSumsPath('v1.2.5'));
      for (const arch of SPEC.arches) {
        const body = await bytes(runcPath('v1.2.5', arch));
        expect(sums).toContain(`${hex(body)}  runc.${arch}\n`);
      }
      expect(sums).toMatch(/ {2}runc\.tar\.xz\n$/);
    });

    it('packages crictl (bare hex + newline) and CNI plugins (./ entries, sha256sum-style)', async () => {
      const c = crictlPath('v1.31.1', 'amd64');
      const ctgz = await bytes(c);
      expect(await text(`${c}.sha256`)).toBe(`${hex(ctgz)}\n`);
      expect(await tarEntries(ctgz)).toEqual(['crictl']);
      const n = cniPath('v1.6.2', 'arm64');
      const ntgz = await bytes(n);
      expect(await text(`${n}.sha256`)).toBe(`${hex(ntgz)}  cni-plugins-linux-arm64-v1.6.2.tgz\n`);
      expect(await tarEntries(ntgz)).toEqual(
        expect.arrayContaining(['./', './bridge', './loopback', './host-local', './portmap', './LICENSE']),
      );
    });

    it('rebuilds byte-for-byte, and takes a pluggable executable producer', async () => {
      const again = await buildMirrorTree(path.join(dir, 'again'), SPEC, { bigFiles: { kubelet: BIG } });
      expect(again.files).toEqual(manifest.files);
      const small: MirrorSpec = {
        ...SPEC,
        arches: ['amd64'],
        kubernetes: ['v1.31.14'],
        containerd: [],
        runc: [],
        crictl: [],
        cni: [],
      };
      const seen: string[] = [];
      const custom = await buildMirrorTree(path.join(dir, 'custom'), small, {
        executables: async (component, version, arch) => {
          seen.push(`${component}@${version}/${arch}`);
          return Buffer.from(`stand-in ${component}`);
        },
        producerId: 'test',
      });
      expect(seen).toEqual(['kubeadm@v1.31.14/amd64', 'kubelet@v1.31.14/amd64', 'kubectl@v1.31.14/amd64']);
      const kubeadm = custom.files.find((f) => f.path.endsWith('/kubeadm'))!;
      expect(kubeadm.sha256).toBe(hex(Buffer.from('stand-in kubeadm')));
      expect(manifest.files.find((f) => f.path === KUBELET)!.bytes).toBe(BIG);
    });
    it('pads big files so they still run: raw after a binary, a comment in a script', async () => {
      const kubelet = path.join(root, ...KUBELET.split('/').filter(Boolean));
      const sh = await run('sh', [kubelet]);
      expect(sh.stdout).toBe('kubelet v1.31.14 linux/amd64 (kubeon lab placeholder)\n');
      const small: MirrorSpec = {
        ...SPEC,
        arches: ['arm64'],
        kubernetes: ['v1.30.14'],
        containerd: [],
        runc: [],
        crictl: [],
        cni: [],
      };
      const built = await buildMirrorTree(path.join(dir, 'node-padded'), small, {
        executables: async (c) => Buffer.from(`#!/usr/bin/env node\nconsole.log(${JSON.stringify(c)});\n`),
        producerId: 'node',
        bigFiles: { kubeadm: 300_001 },
      });
      const file = built.files.find((f) => f.path.endsWith('/kubeadm'))!;
      expect(file.bytes).toBe(300_001);
      const out = await run(process.execPath, [
        path.join(dir, 'node-padded', ...file.path.split('/').filter(Boolean)),
      ]);
      expect(out.stdout).toBe('kubeadm\n');
    });
  });

  describe('ranges', () => {
    it('answers 206 with Content-Range for closed, open and suffix ranges', async () => {
      const full = await bytes(KUBELET);
      const closed = await get(KUBELET, { headers: { range: 'bytes=100-199' } });
      expect(closed.status).toBe(206);
      expect(closed.headers.get('content-range')).toBe(`bytes 100-199/${BIG}`);
      expect(closed.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await closed.arrayBuffer())).toEqual(full.subarray(100, 200));
      const open = await get(KUBELET, { headers: { range: `bytes=${BIG - 10}-` } });
      expect(Buffer.from(await open.arrayBuffer())).toEqual(full.subarray(BIG - 10));
      const suffix = await get(KUBELET, { headers: { range: 'bytes=-5' } });
      expect(suffix.headers.get('content-range')).toBe(`bytes ${BIG - 5}-${BIG - 1}/${BIG}`);
      expect(Buffer.from(await suffix.arrayBuffer())).toEqual(full.subarray(BIG - 5));
    });

    it('answers 416 past the end, and honours If-Range only for the current ETag', async () => {
      const past = await get(KUBELET, { headers: { range: `bytes=${BIG}-` } });
      expect(past.status).toBe(416);
      expect(past.headers.get('content-range')).toBe(`bytes */${BIG}`);
      await past.body?.cancel();
      const head = await get(KUBELET, { method: 'HEAD' });
      const etag = head.headers.get('etag')!;
      expect(head.headers.get('content-length')).toBe(String(BIG));
      const fresh = await get(KUBELET, { headers: { range: 'bytes=0-9', 'if-range': etag } });
      expect(fresh.status).toBe(206);
      expect((await fresh.arrayBuffer()).byteLength).toBe(10);
      const stale = await get(KUBELET, { headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
      expect(stale.status).toBe(200);
      expect((await stale.arrayBuffer()).byteLength).toBe(BIG);
    });
  });

  describe('faults', () => {
    it('drops after N bytes once; a Range resume gives a byte-identical file', async () => {
      mirror.setFaults([{ kind: 'drop', path: KUBELET, afterBytes: 300_000 }]);
      const since = mirror.log().at(-1)?.seq ?? 0;
      const first = await rawGet(mirror.url, KUBELET);
      expect(first.error).toBeDefined();
      expect(first.body.length).toBe(300_000);
      const etag = first.headers.etag as string;
      const rest = await rawGet(mirror.url, KUBELET, {
        range: `bytes=${first.body.length}-`,
        'if-range': etag,
      });
      expect(rest.status).toBe(206);
      const whole = Buffer.concat([first.body, rest.body]);
      expect(hex(whole)).toBe(await text(`${KUBELET}.sha256`));
      const entries = mirror
        .log(since)
        .filter((e) => e.path === KUBELET)
        .slice(-2);
      expect(entries.map((e) => [e.status, e.bytes, e.fault])).toEqual([
        [200, 300_000, 'drop'],
        [206, BIG - 300_000, undefined],
      ]);
      mirror.setFaults([]);
    });

    it('with times "always", every response drops: a client that keeps resuming still gets the file', async () => {
      mirror.setFaults([{ kind: 'drop', path: KUBELET, afterBytes: 700_000, times: 'always' }]);
      const parts: Buffer[] = [];
      let have = 0;
      let rounds = 0;
      while (have < BIG && rounds++ < 10) {
        const res = await rawGet(mirror.url, KUBELET, have ? { range: `bytes=${have}-` } : {});
        parts.push(res.body);
        have += res.body.length;
      }
      mirror.setFaults([]);
      expect(rounds).toBe(Math.ceil(BIG / 700_000));
      expect(hex(Buffer.concat(parts))).toBe(await text(`${KUBELET}.sha256`));
    });

    it('serves a wrong checksum in the upstream format, for one runc arch only when asked', async () => {
      const sumPath = `${KUBELET}.sha256`;
      const right = await text(sumPath);
      mirror.setFaults([{ kind: 'checksum', path: KUBELET }]);
      const wrong = await text(sumPath);
      expect(wrong).toMatch(/^[0-9a-f]{64}$/);
      expect(wrong).not.toBe(right);
      mirror.setFaults([{ kind: 'checksum', path: runcPath('v1.1.14', 'arm64') }]);
      const sums = await text(runcSumsPath('v1.1.14'));
      mirror.setFaults([]);
      const real = await text(runcSumsPath('v1.1.14'));
      const [ra, rb] = real.split('\n');
      const [wa, wb] = sums.split('\n');
      expect(wa).toBe(ra);
      expect(wb).not.toBe(rb);
      expect(wb).toMatch(/^[0-9a-f]{64} {2}runc\.arm64$/);
    });

    it('corrupts one byte without changing the length', async () => {
      const p = kubePath('v1.30.14', 'amd64', 'kubectl');
      const good = await bytes(p);
      mirror.setFaults([{ kind: 'corrupt', path: p }]);
      const bad = await bytes(p);
      mirror.setFaults([]);
      expect(bad.length).toBe(good.length);
      expect(hex(bad)).not.toBe(hex(good));
    });

    it('answers 404 for a faulted path (glob) until the fault is cleared, through the admin API', async () => {
      const p = containerdPath('2.2.1', 'amd64');
      const admin = await get('/_mirror/faults', {
        method: 'PUT',
        body: JSON.stringify({ faults: [{ kind: 'status', path: '/github.com/containerd/*' }] }),
      });
      expect(admin.status).toBe(200);
      const missing = await get(p);
      expect(missing.status).toBe(404);
      await missing.body?.cancel();
      expect(mirror.log().at(-1)).toMatchObject({ path: p, status: 404, fault: 'status' });
      await (await get('/_mirror/faults', { method: 'DELETE' })).body?.cancel();
      const back = await get(p);
      expect(back.status).toBe(200);
      await back.body?.cancel();
      const bad = await get('/_mirror/faults', { method: 'POST', body: '{"kind":"explode","path":"/x"}' });
      expect(bad.status).toBe(400);
      await bad.body?.cancel();
    });

    it('throttles a slow path measurably', async () => {
      const p = kubePath('v1.37.1', 'amd64', 'kubeadm');
      let t = Date.now();
      await bytes(p);
      const fast = Date.now() - t;
      mirror.setFaults([{ kind: 'slow', path: KUBELET, bytesPerSecond: 100_000, delayMs: 200 }]);
      t = Date.now();
      const r = await get(KUBELET, { headers: { range: 'bytes=0-49999' } });
      expect((await r.arrayBuffer()).byteLength).toBe(50_000);
      const slow = Date.now() - t;
      mirror.setFaults([]);
      expect(slow).toBeGreaterThanOrEqual(600);
      expect(fast).toBeLessThan(slow);
    });
  });

  describe('access log', () => {
    it('records bytes sent, to memory and the JSON-lines file; a revalidation transfers nothing', async () => {
      const p = crictlPath('v1.30.1', 'arm64');
      const since = mirror.log().at(-1)?.seq ?? 0;
      const res = await get(p);
      const size = (await res.arrayBuffer()).byteLength;
      const etag = res.headers.get('etag')!;
      const again = await get(p, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      const entries = mirror.log(since);
      expect(entries.map((e) => [e.path, e.status, e.bytes])).toEqual([
        [p, 200, size],
        [p, 304, 0],
      ]);
      const fromFile = (await readAccessLog(path.join(dir, 'access.log'))).filter((e) => e.seq > since);
      expect(fromFile).toEqual(entries);
    });
  });

  describe('path safety', () => {
    it('refuses traversal, encoded slashes and symlinks out of the root; hides dot-files', async () => {
      await writeFile(path.join(dir, 'secret'), 'outside');
      await symlink(path.join(dir, 'secret'), path.join(root, 'dl.k8s.io', 'escape'));
      for (const p of [
        '/../secret',
        '/dl.k8s.io/../../secret',
        '/dl.k8s.io/%2e%2e/%2e%2e/secret',
        '/dl.k8s.io%2F..%2F..%2Fsecret',
        '/dl.k8s.io/escape',
        '/dl.k8s.io/%00',
      ]) {
        const res = await rawGet(mirror.url, p);
        expect([p, res.status]).toEqual([p, 403]);
        expect(res.body.toString()).not.toContain('outside');
      }
      expect((await rawGet(mirror.url, '/.kubeon-mirror.json')).status).toBe(404);
      expect((await rawGet(mirror.url, '/dl.k8s.io/release')).status).toBe(404);
      expect((await rawGet(mirror.url, '/nope')).status).toBe(404);
      const put = await get('/dl.k8s.io/release/stable.txt', { method: 'PUT', body: 'x' });
      expect(put.status).toBe(405);
      await put.body?.cancel();
      expect(await readFile(path.join(root, 'dl.k8s.io/release/stable.txt'), 'utf8')).toBe('v1.37.1');
    });
  });
});
