import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { componentChecks, waitForComponents } from '../lib/control-plane-check.js';
import { selfSignedCA } from '../lib/pki.js';
import { featureEnabled, kubeadmFeatureGates } from '../lib/versions.js';

describe('1.33+ defaults', () => {
  it('turns WaitForAllControlPlaneComponents and ControlPlaneKubeletLocalMode on from 1.33', () => {
    for (const gate of ['WaitForAllControlPlaneComponents', 'ControlPlaneKubeletLocalMode']) {
      expect(featureEnabled(32, {}, gate)).toBe(false);
      expect(featureEnabled(33, {}, gate)).toBe(true);
      expect(featureEnabled(37, {}, gate)).toBe(true);
      expect(featureEnabled(33, { [gate]: false }, gate)).toBe(false);
    }
    expect(kubeadmFeatureGates(30)).not.toHaveProperty('ControlPlaneKubeletLocalMode');
    expect(kubeadmFeatureGates(35)).not.toHaveProperty('WaitForAllControlPlaneComponents');
  });

  it('checks each component where its manifest serves it', () => {
    const checks = componentChecks(
      {
        apiserver: '    - --secure-port=6443\n',
        controllerManager: '    - --bind-address=0.0.0.0\n    - --secure-port=10257\n',
        scheduler: '    - --bind-address=10.77.0.5\n',
      },
      '10.77.0.5',
    );
    expect(checks).toEqual([
      { name: 'kube-apiserver', url: 'https://10.77.0.5:6443/livez' },
      { name: 'kube-controller-manager', url: 'https://127.0.0.1:10257/healthz' },
      { name: 'kube-scheduler', url: 'https://10.77.0.5:10259/livez' },
    ]);
  });
});

describe('waiting for all control-plane components', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });
  const serve = async (status: number): Promise<number> => {
    const ca = await selfSignedCA('127.0.0.1', 3600e3, 'ECDSA-P256');
    const s = createServer({ cert: ca.certPem, key: ca.key.pem }, (_req, res) => {
      res.writeHead(status);
      res.end();
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };

  it('passes when all answer 200 and names each component that never became healthy', async () => {
    const healthy = await serve(200);
    const crashed = await serve(200);
    servers.pop()!.close();
    const lines: string[] = [];
    await waitForComponents(
      [{ name: 'kube-apiserver', url: `https://127.0.0.1:${healthy}/livez` }],
      5000,
      (l) => lines.push(l),
    );
    expect(lines.at(-1)).toMatch(/^\[control-plane-check\] kube-apiserver is healthy after /);
    await expect(
      waitForComponents(
        [
          { name: 'kube-apiserver', url: `https://127.0.0.1:${healthy}/livez` },
          { name: 'kube-controller-manager', url: `https://127.0.0.1:${crashed}/healthz` },
        ],
        2500,
        () => {},
      ),
    ).rejects.toThrow(
      new RegExp(
        `^failed while waiting for the control plane to start: kube-controller-manager check failed at https://127\\.0\\.0\\.1:${crashed}/healthz: Get "https://127\\.0\\.0\\.1:${crashed}/healthz": dial tcp 127\\.0\\.0\\.1:${crashed}: connect: connection refused$`,
      ),
    );
  });
});
