import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { destroyScript } from '../../src/render/destroy.js';
import {
  cniManifest,
  haproxyManifest,
  hostsBlock,
  kubeadmInitConfig,
  kubeadmJoinConfig,
  nodeComponents,
  renderedFiles,
  rewriteImage,
} from '../../src/render/index.js';
import { osPrepareScript } from '../../src/render/os.js';
import { runtimeInstallScript } from '../../src/render/runtime.js';
import { CALICO_UPSTREAM, CILIUM_UPSTREAM } from './cni-fixtures.js';
import { inputFor, SECRETS, specFor } from './fixtures.js';

const docs = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());

describe('kubeadm configuration', () => {
  it('keeps reserved role labels out of --node-labels and passes the others', () => {
    const join = docs(kubeadmJoinConfig(inputFor('1.30', 'debian', 'w1'), SECRETS))[0];
    expect(join.nodeRegistration.kubeletExtraArgs).toEqual({
      'node-ip': '10.77.0.21',
      'node-labels': 'example.com/rack=r1',
    });
  });

  it('uses the API version and extraArgs spelling of each minor', () => {
    const v30 = docs(kubeadmInitConfig(inputFor('1.30', 'debian', 'm1'), SECRETS));
    const v37 = docs(kubeadmInitConfig(inputFor('1.37', 'debian', 'm1'), SECRETS));
    expect(v30[1].apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(v30[1].controllerManager.extraArgs['allocate-node-cidrs']).toBe('true');
    expect(v37[1].apiVersion).toBe('kubeadm.k8s.io/v1beta4');
    expect(v37[1].controllerManager.extraArgs).toContainEqual({ name: 'allocate-node-cidrs', value: 'true' });
    expect(v37[1].controllerManager.extraArgs).toContainEqual({
      name: 'cluster-signing-duration',
      value: '876000h',
    });
    expect(v37[1].certificateValidityPeriod).toBe('876000h');
    expect(v37[2]).toMatchObject({ mode: 'ipvs', ipvs: { excludeCIDRs: [] } });
    expect(v37[3]).toMatchObject({ cgroupDriver: 'systemd', maxPods: 110 });
  });

  it('takes the endpoint with its port, the spec networking and the chosen image repository', () => {
    const cluster = docs(kubeadmInitConfig(inputFor('1.37', 'debian', 'm1'), SECRETS))[1];
    expect(cluster.controlPlaneEndpoint).toBe('apiserver.cluster.local:6443');
    expect(cluster.networking).toEqual({
      serviceSubnet: '10.96.0.0/12',
      podSubnet: '10.244.0.0/16',
      dnsDomain: 'cluster.local',
    });
    // cn: a path-preserving mirror, so CoreDNS needs its own repository (kubeadm appends /coredns
    // only for its default registry).
    expect(cluster.imageRepository).toBe('k8s.m.daocloud.io');
    expect(cluster.dns).toEqual({ imageRepository: 'k8s.m.daocloud.io/coredns' });
    expect(cluster.apiServer.certSANs).toEqual(['apiserver.cluster.local', '127.0.0.1', 'api.lab.internal']);
  });

  it('passes the IPVS exclude CIDRs through', () => {
    const proxy = docs(
      kubeadmInitConfig(inputFor('1.37', 'debian', 'm1'), SECRETS, { ipvsExcludeCIDRs: ['10.77.0.100/32'] }),
    )[2];
    expect(proxy.ipvs.excludeCIDRs).toEqual(['10.77.0.100/32']);
  });

  it('joins a master with the certificate key and refuses to without it', () => {
    const { token, caCertHash, certificateKey } = SECRETS;
    const master = docs(
      kubeadmJoinConfig(inputFor('1.31', 'debian', 'm2'), { token, caCertHash, certificateKey }),
    )[0];
    expect(master.controlPlane).toEqual({
      localAPIEndpoint: { advertiseAddress: '10.77.0.12', bindPort: 6443 },
      certificateKey,
    });
    expect(() => kubeadmJoinConfig(inputFor('1.31', 'debian', 'm2'), { token, caCertHash })).toThrow(
      /certificate key/,
    );
    const worker = docs(kubeadmJoinConfig(inputFor('1.31', 'debian', 'w2'), { token, caCertHash }))[0];
    expect(worker.controlPlane).toBeUndefined();
  });
});

describe('container runtime and OS preparation', () => {
  it('installs the catalogued pieces of the version from the bundle of the node', () => {
    const text = runtimeInstallScript(inputFor('1.37', 'debian', 'w1')).text;
    expect(text).toContain('b=/opt/kubeon/v1.37.2');
    expect(text).toContain('containerd-2.3.4-linux-amd64.tar.gz');
    expect(text).toContain('crictl-v1.36.0-linux-amd64.tar.gz');
    expect(text).toContain('cni-plugins-linux-amd64-v1.9.1.tgz');
  });

  it('re-runs a step when its inputs change and only then', () => {
    const stamp = (s: string) => /= ([0-9a-f]{64}) \]/.exec(s)![1];
    const a = osPrepareScript(inputFor('1.30', 'debian', 'm1')).text;
    expect(stamp(osPrepareScript(inputFor('1.30', 'debian', 'm1')).text)).toBe(stamp(a));
    expect(stamp(osPrepareScript(inputFor('1.37', 'debian', 'm1')).text)).not.toBe(stamp(a));
  });

  it('uses the native package manager and SELinux handling per family', () => {
    const deb = osPrepareScript(inputFor('1.30', 'debian', 'w1')).text;
    const rhel = osPrepareScript(inputFor('1.30', 'rhel', 'w1')).text;
    expect(deb).toContain('apt-get install');
    expect(deb).not.toContain('setenforce');
    expect(rhel).toContain('"$pm" install');
    expect(rhel).toContain('conntrack-tools');
    expect(rhel).toContain('setenforce 0');
  });
});

describe('haproxy static pod', () => {
  it('runs on the host network with the official image and changes its hash with the masters', () => {
    const input = inputFor('1.30', 'debian', 'w1');
    const pod = parse(haproxyManifest(input));
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.containers[0].image).toBe('docker.io/library/haproxy:3.2.19-alpine');
    const two = parse(haproxyManifest({ ...input, masters: input.masters.slice(0, 2) }));
    expect(two.metadata.annotations['kubeon.io/config-hash']).not.toBe(
      pod.metadata.annotations['kubeon.io/config-hash'],
    );
  });
});

describe('CNI manifests', () => {
  it('takes every image from the chosen repository and sets the pod CIDR', () => {
    const calico = docs(cniManifest(inputFor('1.30', 'debian', 'm1'), CALICO_UPSTREAM)!);
    const ds = calico.find((d) => d.kind === 'DaemonSet');
    const node = ds.spec.template.spec.containers[0];
    expect(node.image).toBe('quay.io/calico/node:v3.31.7');
    expect(node.env).toContainEqual({ name: 'CALICO_IPV4POOL_CIDR', value: '10.244.0.0/16' });
    // Quoted upstream scalars stay strings.
    expect(node.env).toContainEqual({ name: 'FELIX_HEALTHENABLED', value: 'true' });
    const cilium = docs(cniManifest(inputFor('1.31', 'debian', 'm1'), CILIUM_UPSTREAM)!);
    expect(cilium.find((d) => d.kind === 'ConfigMap').data.ipam).toBe('kubernetes');
    expect(cilium.find((d) => d.kind === 'DaemonSet').spec.template.spec.containers[0].image).toBe(
      'harbor.lab.internal/k8s/cilium/cilium:v1.18.14',
    );
  });

  it('renders nothing for --cni none', () => {
    const input = inputFor('1.30', 'debian', 'm1');
    const spec = { ...input.spec, network: { ...input.spec.network, cni: 'none' as const } };
    expect(cniManifest({ spec }, CALICO_UPSTREAM)).toBeUndefined();
  });

  it('maps calico images to the names kubeon fetches', () => {
    expect(rewriteImage('docker.io/calico/cni:v3.28.5', specFor('1.30'))).toBe('quay.io/calico/cni:v3.28.5');
    expect(rewriteImage('calico/cni:v3.28.5', specFor('1.37'))).toBe('quay.m.daocloud.io/calico/cni:v3.28.5');
  });
});

describe('hosts block and destroy', () => {
  it('refuses values that would break out of their line', () => {
    expect(() => hostsBlock('prod', [{ ip: '10.0.0.1', names: ['a\n10.0.0.2 evil'] }])).toThrow();
    expect(() => hostsBlock('prod x', [])).toThrow();
  });

  it('destroy refuses a node of another cluster and removes kubeon files', () => {
    const text = destroyScript(inputFor('1.31', 'debian', 'w1')).text;
    expect(text).toContain('not $cluster: nothing removed');
    for (const p of ['/etc/sysctl.d/90-kubeon.conf', '/etc/modules-load.d/kubeon.conf', '/var/lib/etcd']) {
      expect(text).toContain(p);
    }
  });
});

describe('--render-dir listing', () => {
  it('places the kubeadm configuration 0600 and every script', () => {
    const files = renderedFiles(inputFor('1.31', 'debian', 'm1'), {
      kubeadm: { path: '/etc/kubeon/kubeadm/init.yaml', content: 'x' },
    });
    expect(files.find((f) => f.path === '/etc/kubeon/kubeadm/init.yaml')?.mode).toBe(0o600);
    expect(files.filter((f) => f.path.startsWith('/etc/kubeon/scripts/')).map((f) => f.path)).toEqual([
      '/etc/kubeon/scripts/kube.sh',
      '/etc/kubeon/scripts/os.sh',
      '/etc/kubeon/scripts/runtime.sh',
    ]);
    expect(files.some((f) => f.path.includes('haproxy'))).toBe(false);
  });
});

describe('offline mode', () => {
  it('names every image as the imported archives do (upstream), whatever the mirrors', () => {
    const input = inputFor('1.37', 'debian', 'm1');
    const spec = { ...input.spec, artifacts: { ...input.spec.artifacts, offline: true } };
    const components = nodeComponents(spec, checkVersionSupported('v1.37.2'), { pause: '3.10.1' });
    expect(components.images.imageRepository).toBe('registry.k8s.io');
    expect(components.images.sandboxImage).toBe('registry.k8s.io/pause:3.10.1');
    expect(components.haproxyImage).toBe('docker.io/library/haproxy:3.2.19-alpine');
    expect(rewriteImage('docker.io/calico/node:v3.31.7', spec)).toBe('quay.io/calico/node:v3.31.7');
  });
});
