import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../../lab/mirror/layout.js';
import { KubeonError } from '../core/errors.js';
import { nodeBundle } from './bundle.js';
import { CATALOG, CatalogSchema, checkVersionSupported, minorsOf } from './catalog.js';
import { parseChecksum, sha256File } from './checksum.js';
import { kubeadmImageList, parseImageList } from './kubeadm-images.js';
import {
  fileSources,
  formatImageRef,
  imageCandidates,
  kubeadmImageSettings,
  mirrorList,
  parseImageRef,
  prefixSource,
} from './mirrors.js';
import { pickPlatform } from './oci.js';
import { catalogImages, NODE_RUNTIME_IMAGE, planFiles } from './plan.js';
import { createProgress } from './progress.js';
import { pinnedDigest } from './trust.js';

describe('catalog', () => {
  it('covers 1.30 through 1.37, with containerd 2.x from 1.36 on', () => {
    const minors = minorsOf();
    expect(minors.map((m) => m.minor)).toEqual([
      '1.30',
      '1.31',
      '1.32',
      '1.33',
      '1.34',
      '1.35',
      '1.36',
      '1.37',
    ]);
    for (const m of minors) {
      const major = semver.major(m.containerd);
      if (Number(m.minor.split('.')[1]) >= 36) expect(major, m.minor).toBe(2);
      // crictl follows the Kubernetes minor and is never newer than it.
      expect(semver.lte(`${semver.major(m.crictl)}.${semver.minor(m.crictl)}.0`, `${m.minor}.0`)).toBe(true);
    }
  });

  it('patched status comes from the end-of-life dates, against the clock', () => {
    const patched = (day: string) =>
      minorsOf(CATALOG, new Date(`${day}T12:00:00Z`))
        .filter((m) => m.patched)
        .map((m) => m.minor);
    expect(patched('2026-08-21')).toEqual(['1.34', '1.35', '1.36', '1.37']);
    expect(patched('2026-10-27')).toEqual(['1.34', '1.35', '1.36', '1.37']);
    expect(patched('2026-10-28')).toEqual(['1.35', '1.36', '1.37']);
    expect(patched('2027-11-01')).toEqual([]);
  });

  it('no component is at a version a maintained line has a security fix for, or on an unmaintained line', () => {
    for (const m of minorsOf()) {
      const line = (v: string) => v.replace(/^v/, '').split('.').slice(0, 2).join('.');
      expect(CATALOG.maintainedLines.runc, `${m.minor} runc ${m.runc}`).toContain(line(m.runc));
      expect(CATALOG.maintainedLines.containerd, `${m.minor} containerd`).toContain(line(m.containerd));
      for (const fix of CATALOG.securityFixes) {
        const have = (m as unknown as Record<string, string>)[fix.component]!;
        const sameLine = fix.fixed.find((f) => line(f) === line(have));
        // A line without a fixed release is older than every fix: refused.
        expect(sameLine, `${m.minor} ${fix.component} ${have}: ${fix.id}`).toBeDefined();
        expect(semver.gte(have, sameLine!), `${m.minor} ${fix.component} ${have}: ${fix.id}`).toBe(true);
      }
    }
  });

  it('pins the sha256 of every runtime file of every catalogued version and arch', () => {
    for (const m of minorsOf()) {
      for (const f of planFiles({ ...m, version: `v${m.minor}.1`, patch: 1 }, ['amd64', 'arm64'])) {
        if (f.component === 'kubeadm' || f.component === 'kubelet' || f.component === 'kubectl') continue;
        expect(pinnedDigest(f), `${f.component} ${f.version} ${f.arch}`).toMatch(/^[0-9a-f]{64}$/);
      }
    }
    // Kubernetes binaries: every patch kubespray lists; this one as in its checksums.yml (kubeadm_checksums.arm64).
    const [kubeadm] = planFiles(checkVersionSupported('v1.35.8'), ['arm64']);
    expect(pinnedDigest(kubeadm!)).toBe('8956730f3ae46ebdb95e95845542f71d844f74affd69c14634a58d1fe3510d86');
  });

  it('rejects unknown fields in the data', () => {
    const bad = structuredClone(CATALOG) as unknown as { minors: Record<string, Record<string, string>> };
    bad.minors['1.31']!.contanerd = '1.7.0';
    expect(() => CatalogSchema.parse(bad)).toThrow();
  });

  it('accepts any patch of a listed minor, refuses .0 unless allowed and unknown minors', () => {
    expect(checkVersionSupported('1.37.9').version).toBe('v1.37.9');
    expect(checkVersionSupported('v1.31.14').containerd).toBe(CATALOG.minors['1.31']!.containerd);
    expect(checkVersionSupported('v1.33.0', { allowDotZero: true }).patch).toBe(0);
    const refused = (v: string) => {
      try {
        checkVersionSupported(v);
      } catch (err) {
        expect(err).toBeInstanceOf(KubeonError);
        expect((err as KubeonError).exitCode).toBe(2);
        return (err as KubeonError).message + (err as KubeonError).hint;
      }
      throw new Error(`${v} was accepted`);
    };
    expect(refused('v1.33.0')).toMatch(/v1\.33\.0 is a \.0 release.*--allow-dot-zero/);
    expect(refused('v1.29.9')).toMatch(/minor 1\.29 is not in the catalog.*1\.30/);
    expect(refused('v1.31.2-rc.1')).toMatch(/not a release/);
    expect(refused('latest')).toMatch(/not a release/);
  });
});

describe('checksum files', () => {
  const hex = 'ab'.repeat(32);
  const other = 'cd'.repeat(32);
  it('reads bare digests and sha256sum lines, picking the named file', () => {
    expect(parseChecksum(hex, 'kubeadm')).toBe(hex);
    expect(parseChecksum(`${hex}\n`, 'crictl-v1.31.1-linux-amd64.tar.gz')).toBe(hex);
    expect(
      parseChecksum(`${hex}  containerd-2.2.7-linux-amd64.tar.gz\n`, 'containerd-2.2.7-linux-amd64.tar.gz'),
    ).toBe(hex);
    const runc = `${other}  runc.arm64\n${hex}  runc.amd64\n${other}  runc.tar.xz\n`;
    expect(parseChecksum(runc, 'runc.amd64')).toBe(hex);
    expect(parseChecksum(`${hex} *./cni.tgz`, 'cni.tgz')).toBe(hex);
    expect(parseChecksum(runc, 'runc.riscv64')).toBeUndefined();
    expect(parseChecksum('<html>not found</html>', 'kubeadm')).toBeUndefined();
  });
});

describe('mirrors', () => {
  it('resolves the list from flags, then KUBEON_MIRROR, then global', () => {
    expect(mirrorList(undefined, {})).toEqual(['global']);
    expect(mirrorList(undefined, { KUBEON_MIRROR: 'cn' })).toEqual(['cn']);
    expect(mirrorList(['http://a:1/x,cn', 'global'], { KUBEON_MIRROR: 'cn' })).toEqual([
      'http://a:1/x',
      'cn',
      'global',
    ]);
    expect(() => mirrorList(['ftp://x'], {})).toThrow(/not global, cn or an http\(s\) URL/);
  });

  it('maps upstream URLs through prefix mirrors and profiles, skipping files a mirror lacks', () => {
    const url =
      'https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz';
    expect(prefixSource('http://127.0.0.1:8080/m/').rewrite(url)).toBe(
      'http://127.0.0.1:8080/m/github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz',
    );
    const cn = fileSources(['cn']);
    expect(cn.map((s) => s.rewrite(url))).toEqual([
      'https://files.m.daocloud.io/github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz',
    ]);
    expect(prefixSource('http://127.0.0.1:8080/m').rewrite('http://example.invalid/x')).toBeUndefined();
    expect(fileSources(['global'])[0]!.rewrite(url)).toBe(url);
  });

  it('parses image references, docker.io short names included', () => {
    expect(parseImageRef('registry.k8s.io/coredns/coredns:v1.11.3')).toEqual({
      registry: 'registry.k8s.io',
      repository: 'coredns/coredns',
      tag: 'v1.11.3',
    });
    expect(formatImageRef(parseImageRef('haproxy:3.2'))).toBe('docker.io/library/haproxy:3.2');
    expect(parseImageRef('127.0.0.1:5000/pause:3.10').registry).toBe('127.0.0.1:5000');
  });

  it('keeps the coredns path on path-preserving mirrors and flattens it on Aliyun', () => {
    const ref = parseImageRef('registry.k8s.io/coredns/coredns:v1.11.3');
    expect(imageCandidates(ref, [], ['cn']).map(formatImageRef)).toEqual([
      'k8s.m.daocloud.io/coredns/coredns:v1.11.3',
      'registry.aliyuncs.com/google_containers/coredns:v1.11.3',
    ]);
    expect(imageCandidates(ref, [], ['global']).map(formatImageRef)).toEqual([
      'registry.k8s.io/coredns/coredns:v1.11.3',
    ]);
    const calico = parseImageRef('quay.io/calico/node:v3.31.7');
    expect(imageCandidates(calico, ['harbor.local/k8s'], ['cn', 'global']).map(formatImageRef)).toEqual([
      'harbor.local/k8s/calico/node:v3.31.7',
      'quay.m.daocloud.io/calico/node:v3.31.7',
      'quay.io/calico/node:v3.31.7',
    ]);
  });

  it('gives kubeadm and containerd settings that put coredns and pause on the mirror', () => {
    expect(kubeadmImageSettings([], ['global'], '3.10')).toEqual({
      imageRepository: 'registry.k8s.io',
      sandboxImage: 'registry.k8s.io/pause:3.10',
      registryMirrors: {},
    });
    const cn = kubeadmImageSettings([], ['cn'], '3.10');
    expect(cn.imageRepository).toBe('k8s.m.daocloud.io');
    expect(cn.dnsImageRepository).toBe('k8s.m.daocloud.io/coredns');
    expect(cn.sandboxImage).toBe('k8s.m.daocloud.io/pause:3.10');
    expect(cn.registryMirrors['docker.io']).toEqual(['https://docker.m.daocloud.io']);
    const flat = kubeadmImageSettings(['registry.aliyuncs.com/google_containers'], ['cn'], '3.10');
    expect(flat.imageRepository).toBe('registry.aliyuncs.com/google_containers');
    expect(flat.dnsImageRepository).toBeUndefined();
    expect(flat.sandboxImage).toBe('registry.aliyuncs.com/google_containers/pause:3.10');
  });
});

describe('plan', () => {
  it('lists seven files per arch with upstream checksum URLs and roles', () => {
    const files = planFiles(checkVersionSupported('v1.36.2'), ['amd64', 'arm64']);
    expect(files).toHaveLength(14);
    const runc = files.find((f) => f.component === 'runc' && f.arch === 'arm64')!;
    expect(runc.url).toMatch(/\/opencontainers\/runc\/releases\/download\/v1\.4\.3\/runc\.arm64$/);
    expect(runc.checksumUrl).toMatch(/\/v1\.4\.3\/runc\.sha256sum$/);
    expect(files.find((f) => f.component === 'kubectl')!.roles).toEqual(['master']);
    expect(catalogImages(checkVersionSupported('v1.36.2'), 'cilium')).toEqual([
      'docker.io/library/haproxy:3.2.19-alpine',
      'docker.io/library/node:24.11.1-alpine',
      'quay.io/cilium/cilium:v1.20.1',
      'quay.io/cilium/operator-generic:v1.20.1',
      'quay.io/cilium/cilium-envoy:v1.37.5-1786810558-766ccfb37260a43e9d228837aa84ce3faf9f64e7',
    ]);
  });

  it("ships the updater's Node runtime image only where the updater may run", () => {
    const v = checkVersionSupported('v1.31.14');
    expect(catalogImages(v, 'none', { updater: true })).toContain(NODE_RUNTIME_IMAGE);
    expect(catalogImages(v, 'none', { updater: false })).toEqual([`docker.io/library/haproxy:${v.haproxy}`]);
  });

  it('picks the platform manifest from a multi-arch index', () => {
    const index = {
      manifests: [
        { mediaType: 'm', digest: 'sha256:a', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        {
          mediaType: 'm',
          digest: 'sha256:b',
          size: 1,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        },
        {
          mediaType: 'm',
          digest: 'sha256:c',
          size: 1,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
      ],
    };
    expect(pickPlatform(index, 'arm64')?.digest).toBe('sha256:c');
    expect(pickPlatform(index, 'amd64')?.digest).toBe('sha256:a');
    expect(pickPlatform({ manifests: [] }, 'amd64')).toBeUndefined();
  });
});

describe('kubeadm image list', () => {
  const listing = [
    'registry.k8s.io/kube-apiserver:v1.31.14',
    'registry.k8s.io/coredns/coredns:v1.11.3',
    'registry.k8s.io/pause:3.10',
    'registry.k8s.io/etcd:3.5.24-0',
  ].join('\n');

  it('parses pause, etcd and coredns from the output, ignoring noise', () => {
    const parsed = parseImageList(`W1127 warning: something\n${listing}\n`);
    expect(parsed).toMatchObject({ pause: '3.10', etcd: '3.5.24-0', coredns: 'v1.11.3' });
    expect(parsed.all).toHaveLength(4);
    expect(() => parseImageList('registry.k8s.io/pause:3.10\n')).toThrow(/lacks etcd/);
  });

  it('runs a kubeadm binary from a non-executable cache blob', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kubeon-kubeadm-test-'));
    try {
      const blob = path.join(dir, 'blob');
      await writeFile(blob, `#!/bin/sh\n[ "$5" = v1.31.14 ] || exit 3\ncat <<'EOF'\n${listing}\nEOF\n`);
      await chmod(blob, 0o644);
      const digest = await sha256File(blob);
      expect((await kubeadmImageList(blob, 'v1.31.14', digest)).coredns).toBe('v1.11.3');
      await expect(kubeadmImageList(blob, 'v1.31.13', digest)).rejects.toThrow(/could not list its images/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never runs a kubeadm whose bytes differ from the digest it was verified against', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kubeon-kubeadm-test-'));
    try {
      const blob = path.join(dir, 'blob');
      const marker = path.join(dir, 'ran');
      await writeFile(
        blob,
        `#!/bin/sh
touch ${marker}
`,
      );
      await expect(kubeadmImageList(blob, 'v1.31.14', 'a'.repeat(64))).rejects.toThrow(/not running it/);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('progress', () => {
  it('prints plain start and end lines when stderr is not a TTY', () => {
    let text = '';
    const stream = {
      write: (s: string) => {
        text += s;
        return true;
      },
      isTTY: false,
    } as unknown as NodeJS.WritableStream;
    const p = createProgress(stream);
    p.begin('a', 'kubeadm v1.31.14 linux/amd64');
    p.update('a', 10, 20);
    p.end('a', '20 B from http://m/x');
    p.close();
    expect(text).toBe(
      'fetching kubeadm v1.31.14 linux/amd64\nkubeadm v1.31.14 linux/amd64: 20 B from http://m/x\n',
    );
  });

  it('draws bars with speed and ETA and a total line on a TTY', () => {
    let text = '';
    let now = 0;
    const stream = {
      write: (s: string) => {
        text += s;
        return true;
      },
      isTTY: true,
      columns: 120,
    } as unknown as NodeJS.WritableStream;
    const p = createProgress(stream, () => now);
    p.begin('a', 'kubelet');
    p.update('a', 0, 4 << 20);
    now = 1000;
    p.update('a', 1 << 20, 4 << 20);
    p.end('a', 'done');
    p.close();
    expect(text).toContain('kubelet: done');
    expect(text).toMatch(/total 1\.0 MiB in 1s, 1\.0 MiB\/s/);
  });
});

describe('node bundles', () => {
  it('gives each node only its role and arch, with executables marked and image archives named', () => {
    const version = checkVersionSupported('v1.31.14');
    const files = planFiles(version, ['amd64', 'arm64']).map((artifact, i) => ({
      artifact,
      name: artifact.name,
      sha256: String(i).padStart(64, '0'),
      bytes: 1,
      source: 'cached' as const,
      url: artifact.url,
      path: `/cache/sha256/${i}`,
      checksumSource: 'upstream',
    }));
    const image = (arch: 'amd64' | 'arm64') => ({
      image: 'registry.k8s.io/coredns/coredns:v1.11.3',
      from: 'x',
      arch,
      manifestDigest: 'sha256:m',
      sha256: `img-${arch}`,
      path: `/cache/sha256/img-${arch}`,
      bytes: 2,
      source: 'cached' as const,
    });
    const set = { version, files, images: [image('amd64'), image('arm64')] };
    const master = nodeBundle(set, 'master', 'arm64');
    const worker = nodeBundle(set, 'worker', 'arm64');
    expect(master.files.map((f) => f.name)).toContain('kubectl');
    expect(worker.files.map((f) => f.name)).not.toContain('kubectl');
    expect(worker.files.find((f) => f.name === 'runc.arm64')!.mode).toBe(0o755);
    expect(worker.files.find((f) => f.name.startsWith('containerd-'))!.mode).toBe(0o644);
    expect(worker.files.every((f) => !f.name.includes('amd64'))).toBe(true);
    expect(worker.images).toEqual([
      {
        file: '/opt/kubeon/v1.31.14/image-registry.k8s.io_coredns_coredns_v1.11.3.tar',
        image: 'registry.k8s.io/coredns/coredns:v1.11.3',
      },
    ]);
    expect(worker.files.find((f) => f.name.startsWith('image-'))!.path).toBe('/cache/sha256/img-arm64');
  });
});

describe('lab mirror coverage', () => {
  it("the lab mirror's default tree holds every runtime file the catalog names for its Kubernetes versions", () => {
    for (const version of DEFAULT_SPEC.kubernetes) {
      const v = checkVersionSupported(version);
      expect(DEFAULT_SPEC.containerd, version).toContain(v.containerd);
      expect(DEFAULT_SPEC.runc, version).toContain(v.runc);
      expect(DEFAULT_SPEC.crictl, version).toContain(v.crictl);
      expect(DEFAULT_SPEC.cni, version).toContain(v.cni);
    }
  });
});
