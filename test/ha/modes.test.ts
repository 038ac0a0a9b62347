import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import type { Host } from '../../src/cluster/host.js';
import { clusterNodes } from '../../src/cluster/nodes.js';
import { type ClusterSpecInput, ClusterSpecSchema } from '../../src/cluster/spec.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { KubeonError } from '../../src/core/errors.js';
import type { Script } from '../../src/fleet/script.js';
import { lbProbeScript, mastersSeen } from '../../src/ha/external.js';
import { haproxyServers, readyAddresses } from '../../src/ha/health-probe.js';
import { haModeOf } from '../../src/ha/index.js';
import type { CreateContext } from '../../src/phases/create/data.js';
import { nodeComponents } from '../../src/render/inputs.js';
import { kubeadmInitConfig } from '../../src/render/kubeadm.js';

const run = promisify(execFile);
const M = [
  { ip: '10.77.0.11', name: 'm1' },
  { ip: '10.77.0.12', name: 'm2' },
  { ip: '10.77.0.13', name: 'm3' },
];

function spec(extra: Partial<ClusterSpecInput> & { masters?: typeof M } = {}) {
  return ClusterSpecSchema.parse({
    name: 'prod',
    version: 'v1.31.14',
    masters: M,
    workers: [{ ip: '10.77.0.21', name: 'w1' }],
    ...extra,
  });
}

/** A create context with what the HA phases read, and a fleet that records the scripts it is given. */
/** `mastersChanged`: as add and del run it, the cluster's nodes are all existing, none installed. */
function ctxFor(s: ReturnType<typeof spec>, mastersChanged = false) {
  const version = checkVersionSupported(s.version);
  const hosts = clusterNodes(s).map(
    (node) =>
      ({
        node: { ...node, name: node.name! },
        target: { name: node.name!, host: node.ip, port: 22, user: 'root' },
      }) as Host,
  );
  const scripts: { node: string; script: Script }[] = [];
  const fleet = {
    run: async (targets: { name: string; host: string }[], script: Script) => {
      scripts.push({ node: targets[0]!.name, script });
      return [
        { node: targets[0]!.name, ip: targets[0]!.host, exitCode: 0, stdout: '', stderr: '', durationMs: 0 },
      ];
    },
  };
  const ctx = {
    spec: s,
    hosts: mastersChanged ? [] : hosts,
    fleet,
    data: {
      ...(mastersChanged ? { existing: hosts } : {}),
      version,
      settings: {},
      ha: haModeOf(s),
      components: nodeComponents(s, version, { pause: '3.10' }),
    },
    signal: new AbortController().signal,
  } as unknown as CreateContext;
  return { ctx, scripts, worker: hosts.find((h) => h.node.role === 'worker')! };
}

function badInput(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KubeonError);
    return (e as KubeonError).message;
  }
  throw new Error('expected a bad-input error');
}

describe('HA modes', () => {
  it('haModeOf: none with one master unless external, else the spec mode', () => {
    expect(haModeOf(spec({ masters: [M[0]!] })).id).toBe('none');
    expect(haModeOf(spec()).id).toBe('haproxy');
    expect(haModeOf(spec({ controlPlane: { mode: 'updater' } })).id).toBe('updater');
    const ext = { controlPlane: { mode: 'external' as const, lbIp: '10.77.0.100', port: 8443 } };
    expect(haModeOf(spec(ext)).id).toBe('external');
    expect(haModeOf(spec({ ...ext, masters: [M[0]!] })).id).toBe('external');
  });

  it('external: every node joins and stays on the LB; its address is excluded from IPVS', () => {
    const s = spec({
      controlPlane: { mode: 'external', lbIp: '10.77.0.100', port: 8443 },
      network: { proxyMode: 'ipvs' },
    });
    const { ctx, worker } = ctxFor(s);
    const mode = haModeOf(s);
    for (const h of ctx.hosts) {
      expect(mode.joinResolve?.(ctx, h)).toBe('10.77.0.100');
      expect(mode.finalResolve(ctx, h)).toBe('10.77.0.100');
    }
    const master = ctx.hosts[0]!;
    const docs = parseAllDocuments(
      kubeadmInitConfig(
        {
          spec: s,
          host: master,
          version: 'v1.31.14',
          components: ctx.data.components!,
          endpoint: { name: s.controlPlane.endpoint, port: 8443, resolveTo: '10.77.0.100' },
          masters: M,
        },
        { token: 'abcdef.0123456789abcdef', certificateKey: '0'.repeat(64) },
      ),
    ).map((d) => d.toJS());
    expect(docs[1].controlPlaneEndpoint).toBe('apiserver.cluster.local:8443');
    expect(docs[1].apiServer.certSANs).toContain('10.77.0.100');
    expect(docs[2].ipvs.excludeCIDRs).toEqual(['10.77.0.100/32']);
    expect(worker.node.role).toBe('worker');
  });

  it('validation: another port only with an external LB, a Service IP only for the updater and inside the CIDR', () => {
    expect(
      badInput(() =>
        validateSpec({ name: 'p', version: 'v1.31.14', masters: M, controlPlane: { port: 8443 } }),
      ),
    ).toContain('only for an external load balancer');
    const upd = (serviceIP: string, mode = 'updater') =>
      validateSpec({ name: 'p', version: 'v1.31.14', masters: M, controlPlane: { mode, serviceIP } });
    expect(upd('10.96.0.5').spec.controlPlane.serviceIP).toBe('10.96.0.5');
    expect(badInput(() => upd('10.200.0.5'))).toContain('outside the service CIDR 10.96.0.0/12');
    expect(badInput(() => upd('10.96.0.1'))).toContain('kubernetes Service IP');
    expect(badInput(() => upd('10.96.0.5', 'haproxy'))).toContain('is set but the HA mode');
  });

  it('updater: workers run the boot script before joining; mastersChanged rewrites its master list', async () => {
    const s = spec({ controlPlane: { mode: 'updater', serviceIP: '10.96.0.7' } });
    const mode = haModeOf(s);
    expect(mode.beforeWorkerJoin.map((p) => p.id)).toEqual(['updater-apply', 'updater-boot']);
    const after = spec({
      controlPlane: { mode: 'updater', serviceIP: '10.96.0.7' },
      masters: [M[0]!, M[2]!],
    });
    const { ctx, scripts, worker } = ctxFor(after, true);
    const boot = mode.mastersChanged.find((p) => p.id === 'updater-refresh-boot')!;
    const files = boot.files!(ctx, worker);
    expect(files.map((f) => f.path)).toEqual([
      '/opt/kubeon/apiserver-startup.sh',
      '/etc/systemd/system/kubeon-apiserver-startup.service',
    ]);
    expect(files[0]!.content).toContain('MASTERS=(10.77.0.11 10.77.0.13)');
    expect(files[0]!.content).toContain('SERVICE_IP=10.96.0.7');
    expect(boot.nodes!(ctx).map((h) => h.node.name)).toEqual(['w1']);
    await boot.run(ctx, [worker]);
    const text = scripts[0]!.script.text;
    expect(text).toContain('systemctl stop kubeon-apiserver-wait-prod.service 2>/dev/null || true');
    expect(text.indexOf('systemctl enable kubeon-apiserver-startup.service')).toBeLessThan(
      text.indexOf('systemctl restart kubeon-apiserver-startup.service'),
    );
    await run('bash', ['-n', '-c', text]);
  });

  it('haproxy: mastersChanged re-renders the workers config for the new masters', () => {
    const after = spec({ masters: [M[0]!, M[1]!] });
    const { ctx, worker } = ctxFor(after, true);
    const mode = haModeOf(after);
    expect(mode.mastersChanged.map((p) => p.id)).toEqual(['haproxy-refresh', 'haproxy-refresh-switch']);
    expect(mode.mastersChanged[0]!.nodes!(ctx).map((h) => h.node.name)).toEqual(['w1']);
    const cfg = mode.mastersChanged[0]!.files!(ctx, worker).find((f) => f.path.endsWith('haproxy.cfg'))!;
    expect(cfg.content.match(/^ {2}server .*$/gm)).toEqual([
      '  server m1 10.77.0.11:6443 check check-ssl verify none',
      '  server m2 10.77.0.12:6443 check check-ssl verify none',
    ]);
  });

  it('none (down to one master): workers drop haproxy and the boot unit and point at the master', async () => {
    const after = spec({ masters: [M[1]!] });
    const { ctx, scripts, worker } = ctxFor(after, true);
    const mode = haModeOf(after);
    expect(mode.mastersChanged.map((p) => p.id)).toEqual(['ha-none-updater', 'ha-none-workers']);
    const phase = mode.mastersChanged[1]!;
    await phase.run(ctx, [worker]);
    const text = scripts[0]!.script.text;
    expect(text).toContain('systemctl disable --now kubeon-apiserver-startup.service');
    expect(text).toContain('rm -rf -- /etc/kubernetes/manifests/local-haproxy.yaml /etc/kubeon/haproxy');
    expect(text).toContain('10.77.0.12 apiserver.cluster.local');
    await run('bash', ['-n', '-c', text]);
    await mode.mastersChanged[0]!.run(ctx, []);
    expect(scripts[1]!.node).toBe('m2');
    expect(scripts[1]!.script.text).toContain(
      'delete --ignore-not-found deployment/kubeon-apiserver-updater',
    );
  });
});

describe('external LB probe', () => {
  it('passes bash -n and shellcheck', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-lbprobe-'));
    const file = join(dir, 'probe.sh');
    writeFileSync(
      file,
      `#!/bin/bash\n${lbProbeScript({ ip: 'fd00::64', port: 8443 }, 'apiserver.cluster.local', 9).text}`,
    );
    await run('bash', ['-n', file]);
    const check = await run('shellcheck', ['--severity=style', '--shell=bash', file]).catch((e) => e);
    expect(check.stdout ?? '').toBe('');
    expect(readFileSync(file, 'utf8')).toContain("lb='[fd00::64]:8443'");
  });

  it('tells masters apart by the addresses in the certificate that answered', () => {
    const out = [
      'seen 10.96.0.1 10.77.0.12 10.77.0.100 127.0.0.1',
      'fail',
      'seen 10.96.0.1 FD00:0:0:0:0:0:0:13 127.0.0.1',
      'seen 10.96.0.1 10.77.0.12',
    ].join('\n');
    expect([...mastersSeen(out, ['10.77.0.11', '10.77.0.12', 'fd00::13'])].sort()).toEqual([
      '10.77.0.12',
      'fd00::13',
    ]);
    // An IPv4 address never matches the IPv6 address with the same number.
    expect(mastersSeen('seen ::a4d:b', ['10.77.0.11']).size).toBe(0);
  });
});

describe('haproxy stats', () => {
  it('reads the kube-apiserver servers and their state from the CSV', () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
      'health,FRONTEND,,,0,1,262120,3,0,0,0,0,0,,,,,OPEN,',
      'kube-apiserver,m1,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP,1',
      'kube-apiserver,m2,0,0,0,1,,5,0,0,,0,,0,0,0,0,DOWN,1',
      'kube-apiserver,m3,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP 1/2,1',
      'kube-apiserver,BACKEND,0,0,0,1,,5,0,0,,0,,0,0,0,0,UP,2',
      '',
    ].join('\n');
    expect([...haproxyServers(csv)]).toEqual([
      ['m1', true],
      ['m2', false],
      ['m3', true],
    ]);
    expect(haproxyServers('curl: (7) Failed to connect').size).toBe(0);
  });
});

describe('updater slices', () => {
  it('reads the ready addresses of an EndpointSlice (ready unset counts as ready)', () => {
    const slice = {
      endpoints: [
        { addresses: ['10.77.0.11'], conditions: { ready: true } },
        { addresses: ['10.77.0.12'], conditions: { ready: false } },
        { addresses: ['10.77.0.13'] },
      ],
    };
    expect(readyAddresses(JSON.stringify(slice))).toEqual(['10.77.0.11', '10.77.0.13']);
    expect(readyAddresses('{}')).toEqual([]);
  });
});
