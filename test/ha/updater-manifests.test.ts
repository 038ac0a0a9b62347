import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { NODE_RUNTIME_IMAGE } from '../../src/artifacts/plan.js';
import { KubeonError } from '../../src/core/errors.js';
import { controllerBundle } from '../../src/ha/updater/bundle.js';
import { updaterImage } from '../../src/ha/updater/image.js';
import { type Manifest, renderUpdaterManifests, updaterObjects } from '../../src/ha/updater/manifests.js';
import { UPDATER } from '../../src/ha/updater/names.js';
import { updaterServiceIp } from '../../src/ha/updater/service-ip.js';
import { expectGolden } from './golden.js';

const INPUT = {
  serviceCIDR: '10.96.0.0/12',
  masters: ['10.0.0.12', '10.0.0.11', '10.0.0.13'],
  image: updaterImage([], ['global']),
  controller: '// the bundled controller\n',
};

function badInputMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KubeonError);
    expect((e as KubeonError).exitCode).toBe(2);
    return (e as KubeonError).message;
  }
  throw new Error('expected a bad-input error');
}

type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };

describe('apiserver-updater manifests', () => {
  it('render (golden)', () => {
    expectGolden('updater-manifests.yaml', renderUpdaterManifests(INPUT));
  });

  it('is valid YAML, in apply order, with the objects the controller and its RBAC name', () => {
    const docs = parseAllDocuments(renderUpdaterManifests(INPUT)).map((d) => d.toJS() as Manifest);
    expect(docs.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`)).toEqual([
      'ServiceAccount/kube-system/kubeon-apiserver-updater',
      'Role/default/kubeon-apiserver-updater:read-kubernetes-endpoints',
      'RoleBinding/default/kubeon-apiserver-updater:read-kubernetes-endpoints',
      'Role/kube-system/kubeon-apiserver-updater',
      'RoleBinding/kube-system/kubeon-apiserver-updater',
      'Service/kube-system/apiserver',
      'EndpointSlice/kube-system/apiserver',
      'Lease/kube-system/kubeon-apiserver-updater',
      'ConfigMap/kube-system/kubeon-apiserver-updater',
      'Deployment/kube-system/kubeon-apiserver-updater',
    ]);
    const service = docs.find((d) => d.kind === 'Service') as unknown as { spec: Record<string, unknown> };
    expect(service.spec.clusterIP).toBe('10.96.0.2');
    expect(service.spec.selector).toBeUndefined();
  });

  it('grants least privilege: named objects only, no wildcard, no create, delete or patch', () => {
    const roles = updaterObjects(INPUT).filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
    expect(roles.map((r) => r.kind)).toEqual(['Role', 'Role']);
    const rules = roles.flatMap((r) =>
      (r.rules as Rule[]).map((rule) => ({ ns: r.metadata.namespace, ...rule })),
    );
    for (const rule of rules) {
      for (const v of [...rule.apiGroups, ...rule.resources, ...rule.verbs, ...(rule.resourceNames ?? [])]) {
        expect(v).not.toContain('*');
      }
      expect(rule.resourceNames?.length).toBe(1);
      for (const verb of rule.verbs) expect(['get', 'list', 'watch', 'update']).toContain(verb);
    }
    expect(rules).toEqual([
      {
        ns: 'default',
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        resourceNames: ['kubernetes'],
        verbs: ['get', 'list', 'watch'],
      },
      {
        ns: 'kube-system',
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        resourceNames: [UPDATER.slice],
        verbs: ['get', 'update'],
      },
      {
        ns: 'kube-system',
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [UPDATER.lease],
        verbs: ['get', 'update'],
      },
    ]);
    for (const binding of updaterObjects(INPUT).filter((o) => o.kind.endsWith('Binding'))) {
      expect(binding.kind).toBe('RoleBinding');
    }
  });

  it('carries the real bundle in the ConfigMap, far below the 1 MiB object limit', async () => {
    const controller = await controllerBundle();
    const docs = parseAllDocuments(renderUpdaterManifests({ ...INPUT, controller })).map((d) => d.toJS());
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(cm.data[UPDATER.scriptKey]).toBe(controller);
    expect(Buffer.byteLength(JSON.stringify(cm))).toBeLessThan(100 * 1024);
  });

  it('maps the Node image through the mirrors like every other image', () => {
    expect(NODE_RUNTIME_IMAGE).toMatch(/^docker\.io\/library\/node:\d+\.\d+\.\d+-alpine$/);
    expect(updaterImage([], ['global'])).toBe(NODE_RUNTIME_IMAGE);
    expect(updaterImage([], ['cn'])).toBe(NODE_RUNTIME_IMAGE.replace('docker.io/', 'docker.m.daocloud.io/'));
    expect(updaterImage(['registry.example.internal/mirror'], ['global'])).toBe(
      NODE_RUNTIME_IMAGE.replace('docker.io/', 'registry.example.internal/mirror/'),
    );
  });

  it('uses IPv6 slices for IPv6 masters and refuses mixed families', () => {
    const v6 = updaterObjects({
      ...INPUT,
      serviceCIDR: 'fd00:10:96::/108',
      masters: ['fd00::11', 'fd00::12'],
    });
    expect(v6.find((o) => o.kind === 'EndpointSlice')!.addressType).toBe('IPv6');
    expect(badInputMessage(() => updaterObjects({ ...INPUT, masters: ['10.0.0.11', 'fd00::12'] }))).toContain(
      '10.0.0.11, fd00::12',
    );
  });
});

describe('updater Service IP', () => {
  it('defaults to the service CIDR base + 2', () => {
    expect(updaterServiceIp('10.96.0.0/12')).toBe('10.96.0.2');
    expect(updaterServiceIp('fd00:10:96::/108')).toBe('fd00:10:96::2');
    expect(updaterServiceIp('10.96.0.0/12', '10.96.0.200')).toBe('10.96.0.200');
  });

  it('refuses addresses that are taken, outside the CIDR or outside its static band, naming them', () => {
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', '10.96.0.1'))).toBe(
      'updater Service IP 10.96.0.1 is the kubernetes Service IP',
    );
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', '10.96.0.10'))).toContain("kube-dns's");
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', '10.96.0.0'))).toContain('network address');
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', '10.112.0.2'))).toContain(
      '10.112.0.2 is outside the service CIDR 10.96.0.0/12',
    );
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', '10.96.2.0'))).toContain('static band');
    // A /24 has a static band of 16 addresses.
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/24', '10.96.0.17'))).toContain('static band');
    expect(badInputMessage(() => updaterServiceIp('10.96.0.0/12', 'apiserver'))).toContain('"apiserver"');
  });
});
