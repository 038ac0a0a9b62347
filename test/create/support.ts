import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { hostExec, type Lab } from '../../lab/api.js';
import { buildMirrorTree, trustedDigestsPath } from '../../lab/mirror/build.js';
import { labImages, pushImages } from '../../lab/mirror/images.js';
import { startRegistry } from '../../lab/mirror/registry.js';
import { type Mirror, startMirror } from '../../lab/mirror/server.js';
import { executables, producerId } from '../../lab/standins/executables.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { calicoManifestUrl } from '../../src/render/cni.js';
import { type CliResult, kubeon } from '../cli/harness.js';

/**
 * What the create/destroy lab tests share: a loopback mirror in upstream layout serving the
 * stand-ins for one Kubernetes version (and, as upstream's raw.githubusercontent.com would, a calico
 * manifest whose DaemonSet mounts /etc/cni/net.d), a private kubeon home, and the CLI runner.
 */

/** A small calico manifest in upstream's shape: what the kubelet stand-in needs to call a node Ready. */
export function calicoManifest(version: string): string {
  const ds = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'calico-node', namespace: 'kube-system', labels: { 'k8s-app': 'calico-node' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'calico-node' } },
      template: {
        metadata: { labels: { 'k8s-app': 'calico-node' } },
        spec: {
          hostNetwork: true,
          // As upstream's calico.yaml: calico-node runs on every node, control-plane taint or not.
          tolerations: [
            { effect: 'NoSchedule', operator: 'Exists' },
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { effect: 'NoExecute', operator: 'Exists' },
          ],
          initContainers: [
            {
              name: 'install-cni',
              image: `docker.io/calico/cni:${version}`,
              volumeMounts: [{ mountPath: '/host/etc/cni/net.d', name: 'cni-net-dir' }],
            },
          ],
          containers: [
            {
              name: 'calico-node',
              image: `docker.io/calico/node:${version}`,
              env: [{ name: 'CALICO_IPV4POOL_CIDR', value: '192.168.0.0/16' }],
            },
          ],
          volumes: [{ name: 'cni-net-dir', hostPath: { path: '/etc/cni/net.d' } }],
        },
      },
    },
  };
  return `---\n# Source: calico/templates/calico-node.yaml\n${YAML.stringify(ds)}`;
}

/** Lab addresses are 10.X.200.0/24, which can fall inside kubeadm's default Service range. */
export const NET_FLAGS = ['--svc-cidr', '172.20.0.0/16', '--pod-cidr', '172.21.0.0/16'];

export interface CreateLab {
  mirror: Mirror;
  /** Flags that get every image onto the nodes. */
  imageFlags: string[];
  work: string;
  home: string;
  env: NodeJS.ProcessEnv;
  cli(...argv: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** Builds (or reuses) the mirror tree for the versions and starts the mirror on loopback. */
export async function createLab(...versions: string[]): Promise<CreateLab> {
  const vs = versions.map((v) => checkVersionSupported(v, { allowDotZero: false }));
  const uniq = (f: (v: (typeof vs)[number]) => string) => [...new Set(vs.map(f))];
  const root = join('/var/tmp', `kubeon-create-mirror-${versions.join('-')}`);
  mkdirSync(root, { recursive: true });
  await buildMirrorTree(
    root,
    {
      arches: ['amd64'],
      kubernetes: versions,
      containerd: uniq((v) => v.containerd),
      runc: uniq((v) => v.runc),
      crictl: uniq((v) => v.crictl),
      cni: uniq((v) => v.cni),
    },
    { executables, producerId },
  );
  for (const calico of uniq((v) => v.calico)) {
    const manifest = new URL(calicoManifestUrl(calico));
    const at = join(root, manifest.host, manifest.pathname);
    mkdirSync(join(at, '..'), { recursive: true });
    writeFileSync(at, calicoManifest(calico));
  }
  const [mirror, registry] = await Promise.all([startMirror({ root }), startRegistry()]);
  for (const v of versions) await pushImages(registry.url, labImages(v));
  const work = mkdtempSync(join(tmpdir(), 'kubeon-create-'));
  const home = join(work, 'home');
  const env: NodeJS.ProcessEnv = {
    HOME: work,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // The lab is sealed: the mirror also stands in for upstream's checksum files, and its stand-in
    // bytes are vouched for by the one documented override, never by the mirror's own checksums.
    KUBEON_CHECKSUM_SOURCE: mirror.url,
    KUBEON_TRUSTED_DIGESTS: trustedDigestsPath(root),
  };
  return {
    mirror,
    // The lab has no registry its nodes can pull from, so images travel the offline way: pulled here
    // from a real registry on loopback, shipped with the bundle and imported into containerd.
    imageFlags: ['--offline', '--image-repo', registry.host],
    work,
    home,
    env,
    cli: (...argv) => kubeon(['--home', home, ...argv], env),
    async close() {
      await Promise.all([mirror.close(), registry.close()]);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export async function sh(lab: Lab, host: string, text: string): Promise<string> {
  const r = await hostExec(lab, host, ['bash', '-euo', 'pipefail', '-c', text]);
  if (r.code !== 0) throw new Error(`${host}: ${text}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Every file and its content hash under the places kubeon may touch, for "nothing changed" and "as
 * before" comparisons. Logs and the stand-ins' own call log are left out.
 */
export async function fileList(lab: Lab, host: string): Promise<string[]> {
  const out = await sh(
    lab,
    host,
    [
      'for d in /etc /opt /usr/local /usr/bin /var/lib/kubelet /var/lib/etcd /var/lib/containerd /root; do',
      '  [ -e "$d" ] || continue',
      '  find "$d" -xdev \\( -path /etc/machine-id -o -path /etc/ld.so.cache -o -path \'/root/.ssh\' -o -path /root/.bash_history \\) -prune -o -type f -print0 2>/dev/null',
      'done | sort -z | xargs -0 -r sha256sum',
    ].join('\n'),
  );
  return out.split('\n').filter(Boolean);
}
