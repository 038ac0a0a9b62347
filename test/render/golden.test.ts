import { describe, it } from 'vitest';
import {
  cniManifest,
  destroyScript,
  haproxyConfig,
  haproxyManifest,
  hostsBlockScript,
  hostsRemoveScript,
  kubeadmInitConfig,
  kubeadmJoinConfig,
  renderedFiles,
} from '../../src/render/index.js';
import { kubeInstallScript } from '../../src/render/kubelet.js';
import { osPrepareScript } from '../../src/render/os.js';
import { containerdConfig, runtimeInstallScript } from '../../src/render/runtime.js';
import { CALICO_UPSTREAM, CILIUM_UPSTREAM } from './cni-fixtures.js';
import { CASE_NAMES, FAMILIES, inputFor, SECRETS } from './fixtures.js';
import { expectGolden } from './golden.js';

describe('node renderers (golden files per version and OS family)', () => {
  for (const c of CASE_NAMES) {
    for (const family of FAMILIES) {
      it(`renders the install scripts of ${c} on ${family}`, () => {
        const master = inputFor(c, family, 'm1');
        const worker = inputFor(c, family, 'w1');
        expectGolden(`${c}/${family}/os-master.sh`, osPrepareScript(master).text);
        expectGolden(`${c}/${family}/runtime.sh`, runtimeInstallScript(worker).text);
        expectGolden(`${c}/${family}/kube-master.sh`, kubeInstallScript(master).text);
        expectGolden(`${c}/${family}/kube-worker.sh`, kubeInstallScript(worker).text);
      });
    }

    it(`renders containerd's config for ${c}`, () => {
      expectGolden(`${c}/config.toml`, containerdConfig(inputFor(c, 'debian', 'w1')));
    });

    it(`renders kubeadm's init and join configurations for ${c}`, () => {
      const { token, certificateKey, caCertHash } = SECRETS;
      expectGolden(`${c}/kubeadm-init.yaml`, kubeadmInitConfig(inputFor(c, 'debian', 'm1'), SECRETS));
      expectGolden(
        `${c}/kubeadm-join-master.yaml`,
        kubeadmJoinConfig(inputFor(c, 'debian', 'm2'), { token, caCertHash, certificateKey }),
      );
      expectGolden(
        `${c}/kubeadm-join-worker.yaml`,
        kubeadmJoinConfig(inputFor(c, 'debian', 'w1'), { token, caCertHash }),
      );
    });

    it(`renders the haproxy config and static pod for ${c}`, () => {
      const worker = inputFor(c, 'debian', 'w2');
      expectGolden(`${c}/haproxy.cfg`, haproxyConfig(worker));
      expectGolden(`${c}/local-haproxy.yaml`, haproxyManifest(worker));
    });

    it(`lists the files of a node for --render-dir on ${c}`, () => {
      const listing = renderedFiles(inputFor(c, 'rhel', 'w1'), { haproxy: true })
        .map((f) => `${f.mode.toString(8)} ${f.path} ${f.content.length}`)
        .join('\n');
      expectGolden(`${c}/render-dir-worker.txt`, `${listing}\n`);
    });
  }

  it('renders the hosts block scripts', () => {
    expectGolden(
      'hosts-set.sh',
      hostsBlockScript('prod', [{ ip: '10.77.0.11', names: ['apiserver.cluster.local'] }]).text,
    );
    expectGolden('hosts-remove.sh', hostsRemoveScript('prod').text);
  });

  it('renders the destroy script', () => {
    expectGolden('destroy.sh', destroyScript(inputFor('1.31', 'debian', 'w1')).text);
  });

  it('rewrites the calico and cilium manifests', () => {
    expectGolden('calico-1.37.yaml', cniManifest(inputFor('1.37', 'debian', 'm1'), CALICO_UPSTREAM)!);
    expectGolden('cilium-1.31.yaml', cniManifest(inputFor('1.31', 'debian', 'm1'), CILIUM_UPSTREAM)!);
  });
});
