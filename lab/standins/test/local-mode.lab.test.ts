/**
 * 1.33+ behaviour on lab system hosts with the 1.37 stand-ins: init waits for every control-plane
 * component (WaitForAllControlPlaneComponents), so a controller-manager broken by its extraArgs
 * fails init; and with ControlPlaneKubeletLocalMode a control-plane kubelet talks to its own
 * apiserver, which on join exists only once the local etcd member does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../api.js';
import { testLabId } from '../../support/test-id.js';
import { type HostExec, installStandins, put } from '../install.js';

const ID = testLabId('t-standins-local');
const K8S = 'v1.37.1';
let lab: Lab;
const ip = (name: string) => lab.hosts.find((h) => h.name === name)!.ip;
const on =
  (name: string): HostExec =>
  (argv, opts) =>
    hostExec(lab, name, argv, opts ?? {});
const sh = (name: string, script: string) => hostExec(lab, name, ['sh', '-c', script]);

const initConfig = (addr: string, extra = '', initExtra = '') => `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: ${addr}}
nodeRegistration: {criSocket: unix:///run/containerd/containerd.sock}
timeouts: {controlPlaneComponentHealthCheck: 30s}
${initExtra}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${K8S}
controlPlaneEndpoint: apiserver.cluster.local:6443
${extra}---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`;

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, system: 3 });
  const endpoint = `${ip('s001')} apiserver.cluster.local`;
  await Promise.all(
    lab.hosts.map((h) =>
      installStandins(on(h.name), { kubernetes: K8S, containerd: '2.2.1', hosts: [endpoint] }),
    ),
  );
});

afterAll(async () => {
  await labDown(ID);
});

describe('1.37: every component waited for, kubelets on their local apiserver', () => {
  it('init fails when the controller-manager cannot start, naming its health endpoint', async () => {
    await put(
      on('s003'),
      '/root/kubeadm.yaml',
      initConfig(ip('s003'), 'controllerManager:\n  extraArgs:\n  - {name: no-such-flag, value: "1"}\n'),
      '0600',
    );
    const r = await hostExec(lab, 's003', ['kubeadm', 'init', '--config', '/root/kubeadm.yaml']);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toContain(
      '[control-plane-check] Checking kube-controller-manager at https://127.0.0.1:10257/healthz',
    );
    expect(r.stderr).toContain(
      'error execution phase wait-control-plane: failed while waiting for the control plane to start: kube-controller-manager check failed at https://127.0.0.1:10257/healthz',
    );
  });

  it('a control-plane join bootstraps its kubelet against its own apiserver after etcd', async () => {
    await put(
      on('s001'),
      '/root/kubeadm.yaml',
      initConfig(ip('s001'), '', 'skipPhases: [addon/kube-proxy]\n'),
      '0600',
    );
    const init = await hostExec(lab, 's001', [
      'kubeadm',
      'init',
      '--config',
      '/root/kubeadm.yaml',
      '--upload-certs',
    ]);
    expect(init.code, `${init.stdout}\n${init.stderr}`).toBe(0);
    expect(init.stdout).toContain('[control-plane-check] kube-scheduler is healthy after');
    const m =
      /kubeadm join (\S+) --token (\S+) \\\n\s+--discovery-token-ca-cert-hash (\S+) \\\n\s+--control-plane --certificate-key (\S+)/.exec(
        init.stdout,
      );
    expect(m).not.toBeNull();
    const join = await sh(
      's002',
      `kubeadm join ${m![1]} --token ${m![2]} --discovery-token-ca-cert-hash ${m![3]} --control-plane --certificate-key ${m![4]} --apiserver-advertise-address ${ip('s002')}`,
    );
    expect(join.code, `${join.stdout}\n${join.stderr}`).toBe(0);
    const out = join.stdout;
    expect(out.indexOf('[etcd] Successfully added the new etcd member')).toBeGreaterThan(-1);
    expect(out.indexOf('[etcd] Successfully added the new etcd member')).toBeLessThan(
      out.indexOf('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap'),
    );
    for (const h of ['s001', 's002']) {
      const conf = await sh(h, 'grep server: /etc/kubernetes/kubelet.conf');
      expect(conf.stdout.trim()).toBe(`server: https://${ip(h)}:6443`);
    }
    const nodes = await sh('s001', 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name');
    expect(nodes.stdout.split('\n').sort()).toEqual(['', 'node/s001', 'node/s002']);
    // skipPhases: [addon/kube-proxy] skips that sub-phase alone
    const addons = await sh(
      's001',
      'kubectl --kubeconfig /etc/kubernetes/admin.conf get deployments -n kube-system -o name; kubectl --kubeconfig /etc/kubernetes/admin.conf get daemonsets -n kube-system -o name',
    );
    expect(addons.stdout).toContain('coredns');
    expect(addons.stdout).not.toContain('kube-proxy');
  });
});
