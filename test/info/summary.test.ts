import { describe, expect, it } from 'vitest';
import { renderInfo } from '../../src/info/render.js';
import {
  type ApiPod,
  controlPlanePods,
  type InfoReport,
  nodeRow,
  podProblem,
  podsSummary,
} from '../../src/info/summary.js';

const NOW = new Date('2026-12-03T12:00:00Z');

const pod = (
  name: string,
  ns: string,
  status: ApiPod['status'],
  labels?: Record<string, string>,
): ApiPod => ({
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  spec: { nodeName: 'm1' },
  status,
});

describe('info summary', () => {
  it('reads a node as kubectl shows it: role from the control-plane label, Ready, cordon, age', () => {
    const row = nodeRow(
      {
        metadata: {
          name: 'm1',
          labels: { 'node-role.kubernetes.io/control-plane': '' },
          creationTimestamp: '2026-12-01T12:00:00Z',
        },
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: 'Ready', status: 'False' }],
          addresses: [
            { type: 'Hostname', address: 'm1' },
            { type: 'InternalIP', address: '10.0.0.1' },
          ],
          nodeInfo: {
            kubeletVersion: 'v1.31.14',
            containerRuntimeVersion: 'containerd://2.0.1',
            osImage: 'Debian',
          },
        },
      },
      NOW,
    );
    expect(row).toEqual({
      name: 'm1',
      role: 'master',
      ip: '10.0.0.1',
      status: 'NotReady,SchedulingDisabled',
      kubeletVersion: 'v1.31.14',
      runtime: 'containerd://2.0.1',
      os: 'Debian',
      created: '2026-12-01T12:00:00Z',
      ageSeconds: 2 * 86400,
    });
    expect(nodeRow({ metadata: { name: 'w1' } }, NOW)).toMatchObject({ role: 'worker', status: 'Unknown' });
  });

  it('counts as not running: pending, failed, and running with a container that is not ready', () => {
    const ready = { name: 'c', ready: true };
    expect(podProblem(pod('ok', 'a', { phase: 'Running', containerStatuses: [ready] }))).toBeUndefined();
    expect(podProblem(pod('done', 'a', { phase: 'Succeeded' }))).toBeUndefined();
    expect(
      podProblem(
        pod('loop', 'a', {
          phase: 'Running',
          containerStatuses: [
            ready,
            { name: 'd', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          ],
        }),
      ),
    ).toEqual({ name: 'loop', phase: 'Running', reason: 'CrashLoopBackOff', node: 'm1' });
    expect(podProblem(pod('wait', 'b', { phase: 'Pending' }))?.reason).toBe('Pending');
    const summary = podsSummary([
      pod('x', 'a', { phase: 'Failed', reason: 'Evicted' }),
      pod('y', 'b', { phase: 'Pending' }),
      pod('z', 'a', { phase: 'Running', containerStatuses: [ready] }),
    ]);
    expect(summary.total).toBe(3);
    expect(Object.keys(summary.notRunning)).toEqual(['a', 'b']);
    expect(summary.notRunning.a!.map((p) => `${p.name}:${p.reason}`)).toEqual(['x:Evicted']);
  });

  it('groups kubeadm static pods by master, sorted by component', () => {
    const cp = (c: string, ready: boolean) =>
      pod(
        `${c}-m1`,
        'kube-system',
        { phase: 'Running', containerStatuses: [{ name: c, ready }] },
        {
          tier: 'control-plane',
          component: c,
        },
      );
    const out = controlPlanePods([
      cp('kube-scheduler', true),
      cp('etcd', true),
      cp('kube-apiserver', false),
      pod('coredns', 'kube-system', { phase: 'Running' }),
    ]);
    expect(out).toEqual({
      m1: [
        { component: 'etcd', phase: 'Running', ready: true },
        { component: 'kube-apiserver', phase: 'Running', ready: false },
        { component: 'kube-scheduler', phase: 'Running', ready: true },
      ],
    });
  });
});

describe('info screen', () => {
  const report: InfoReport = {
    cluster: {
      name: 'prod',
      version: 'v1.31.14',
      endpoint: 'apiserver.cluster.local:6443',
      api: { server: 'https://10.0.0.1:6443/', via: 'tunnel through m1' },
    },
    ha: { mode: 'haproxy', workers: null, error: 'w1: connection refused' },
    certificates: {},
    nodes: [],
    pods: { total: 0, notRunning: {} },
    controlPlane: {},
    etcd: { members: [], error: 'etcd answers on no master' },
  };

  it('shows a failed HA probe instead of claiming health, and colours only when asked', () => {
    const plain = renderInfo(report, false);
    expect(plain).toContain('HA (haproxy) per worker\n  w1: connection refused');
    const probed = renderInfo(
      {
        ...report,
        ha: {
          mode: 'haproxy',
          workers: [{ node: 'w1', healthy: true, detail: 'haproxy (127.0.0.1): reaches m1' }],
        },
      },
      false,
    );
    expect(probed).toContain('  w1  ok  haproxy (127.0.0.1): reaches m1');
    expect(plain).toContain('API https://10.0.0.1:6443/ (tunnel through m1)');
    expect(plain).toContain('etcd answers on no master');
    expect(plain).not.toContain('\x1b[');
    expect(renderInfo(report, true)).toContain('\x1b[');
  });
});
