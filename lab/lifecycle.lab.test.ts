// Several labs at once, their sealing, and recovery of a broken lab (light hosts only: fast).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labStatus, labUp } from './api.js';
import { ssh } from './support/ssh.js';
import { testLabId } from './support/test-id.js';

const A = testLabId('t-hosts-life-a');
const B = testLabId('t-hosts-life-b');
let a: Lab;
let b: Lab;

/** bash's /dev/tcp from inside a host: exit code and error text of one TCP connect. */
const tcp = (lab: Lab, host: string, ip: string, port: number) =>
  hostExec(lab, host, ['bash', '-c', `timeout 3 bash -c '</dev/tcp/${ip}/${port}'`]);

beforeAll(async () => {
  await Promise.all([labDown(A), labDown(B)]);
  [a, b] = await Promise.all([labUp({ id: A, light: 2 }), labUp({ id: B, light: 1 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([labDown(A), labDown(B)]);
});

describe('labs side by side', () => {
  it('get their own subnets, interfaces and credentials, and both answer', async () => {
    expect(a.subnet).not.toBe(b.subnet);
    expect(a.iface).not.toBe(b.iface);
    expect(a.hosts[0]?.rootPassword).not.toBe(b.hosts[0]?.rootPassword);
    for (const [lab, h] of [
      [a, a.hosts[0]],
      [b, b.hosts[0]],
    ] as const) {
      const r = await ssh(lab, h!, 'hostname');
      expect(r.stdout, r.stderr).toBe(`${h!.name}\n`);
    }
  });

  it('are sealed: a host reaches its own lab and the machine on the lab bridge, nothing else', async () => {
    expect((await tcp(a, 'l001', a.hosts[1]!.ip, 22)).code).toBe(0);
    const otherLab = await tcp(a, 'l001', b.hosts[0]!.ip, 22);
    expect(otherLab.code).not.toBe(0);
    const machineAddr = /src (\S+)/.exec(execFileSync('ip', ['route', 'get', '192.0.2.1']).toString())?.[1];
    expect(machineAddr).toBeDefined();
    const machine = await tcp(a, 'l001', machineAddr!, 22);
    expect(machine.code).not.toBe(0);
    expect(machine.stderr).not.toMatch(/refused/);
    // The gateway address itself is reachable: a refused connection proves the packet arrived.
    const gw = await tcp(a, 'l001', a.gatewayIp, 1);
    expect(gw.stderr).toMatch(/refused/);
  });

  it("hold no mount of another lab's namespaces (which would keep them alive after its down)", () => {
    for (const h of [...a.hosts, ...b.hosts]) {
      expect(readFileSync(`/proc/${h.pid}/mountinfo`, 'utf8')).not.toMatch(/nsfs/);
    }
  });

  it('keep /etc private between labs too', async () => {
    await hostExec(a, 'l001', ['sh', '-c', 'mkdir -p /etc/kubernetes && echo a >/etc/kubernetes/life']);
    expect((await hostExec(b, 'l001', ['test', '-e', '/etc/kubernetes/life'])).code).toBe(1);
  });
});

describe('recovery', () => {
  it('up rebuilds a lab whose host died, and the new host answers', async () => {
    const victim = a.hosts[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const status = await labStatus(A);
    expect(status?.problems).toContain(`host ${victim.name} is not running`);
    const again = await labUp({ id: A, light: 2 });
    expect(again.hosts[0]?.pid).not.toBe(victim.pid);
    expect((await labStatus(A))?.problems).toEqual([]);
    const r = await ssh(again, again.hosts[0]!, 'true');
    expect(r.code, r.stderr).toBe(0);
    a = again;
  });

  it('down of one lab leaves the other running', async () => {
    await labDown(A);
    expect(await labStatus(A)).toBeUndefined();
    expect((await labStatus(B))?.problems).toEqual([]);
    expect((await ssh(b, b.hosts[0]!, 'true')).code).toBe(0);
  });
});
