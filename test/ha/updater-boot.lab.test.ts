// The updater mode's boot script, run for real by systemd on a lab worker (system host), against
// HTTPS listeners on light hosts standing in for three masters and for the updater's Service IP.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, type LabHost, labDown, labUp } from '../../lab/api.js';
import { ensureTlsFiles } from '../../lab/mirror/tls.js';
import { testLabId } from '../../lab/support/test-id.js';
import {
  BOOT_SCRIPT_PATH,
  BOOT_UNIT,
  hostsMarkers,
  renderBootScript,
  renderBootUnit,
  waitUnit,
} from '../../src/ha/updater/boot.js';
import { hostsBlockAddress } from '../../src/ha/updater/health.js';

const ID = testLabId('t-ha-boot');
const CLUSTER = 'boot';
const ENDPOINT = 'apiserver.cluster.local';
const WORKER = 's001';

// A fake apiserver: /healthz answers "ok" over TLS, like the real one to anonymous clients.
const LISTENER = `
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
const [ip, port, cert, key] = process.argv.slice(2);
createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
}).listen(Number(port), ip, () => console.log('listening'));
`;

let lab: Lab;
let dir: string;
let masters: LabHost[];
let service: LabHost;
const listeners = new Map<string, ChildProcess>();

async function listen(h: LabHost): Promise<void> {
  const tls = await ensureTlsFiles(join(dir, 'tls'));
  const p = spawn(
    'nsenter',
    [
      `--net=/run/netns/${h.netns}`,
      '--',
      process.execPath,
      join(dir, 'listener.mjs'),
      h.ip,
      '6443',
      tls.certFile,
      tls.keyFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  listeners.set(h.name, p);
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (code) => reject(new Error(`listener on ${h.name} exited with ${code}`)));
  });
}

async function silence(h: LabHost): Promise<void> {
  const p = listeners.get(h.name);
  listeners.delete(h.name);
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

async function worker(argv: string[], input?: string): Promise<string> {
  const r = await hostExec(lab, WORKER, argv, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} on ${WORKER}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const place = (path: string, mode: string, text: string) =>
  worker(
    ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', 'place', path, mode],
    text,
  );

let hostsText = '';
/** Where the worker's block sends the endpoint name; the block must be there exactly once. */
async function pointedAt(): Promise<string | undefined> {
  hostsText = await worker(['cat', '/etc/hosts']);
  const { begin, end } = hostsMarkers(CLUSTER);
  const lines = hostsText.split('\n');
  const address = hostsBlockAddress(hostsText, CLUSTER, ENDPOINT);
  expect(lines.filter((l) => l === begin)).toHaveLength(address ? 1 : 0);
  expect(lines.filter((l) => l === end)).toHaveLength(address ? 1 : 0);
  // One line between the markers, and it names only the endpoint.
  if (address) expect(lines[lines.indexOf(begin) + 1]).toBe(`${address} ${ENDPOINT}`);
  return address;
}

async function waitPointedAt(ip: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  let last: string | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await pointedAt();
    if (last === ip) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${ENDPOINT} does not point at ${ip} after ${timeoutMs} ms but at ${last ?? 'nothing'}`);
}

async function waitInactive(unit: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while ((await isActive(unit)) === 'active' && Date.now() - started < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
  }
}

const isActive = async (unit: string) =>
  (await hostExec(lab, WORKER, ['systemctl', 'is-active', unit])).stdout.trim();

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, light: 4, system: 1 });
  dir = await mkdtemp(join(tmpdir(), 'kubeon-boot-lab-'));
  await writeFile(join(dir, 'listener.mjs'), LISTENER);
  masters = ['l001', 'l002', 'l003'].map((n) => lab.hosts.find((h) => h.name === n)!);
  service = lab.hosts.find((h) => h.name === 'l004')!;
  const script = renderBootScript({
    cluster: CLUSTER,
    endpoint: ENDPOINT,
    serviceIp: service.ip,
    masters: masters.map((m) => m.ip),
    port: 6443,
    pollSeconds: 1,
    waitSeconds: 600,
  });
  await place(BOOT_SCRIPT_PATH, '0755', script);
  await place(`/etc/systemd/system/${BOOT_UNIT}`, '0644', renderBootUnit());
  await worker(['systemctl', 'daemon-reload']);
  await Promise.all(masters.map(listen));
}, 300_000);

afterAll(async () => {
  for (const h of [...masters, service]) await silence(h);
  await labDown(ID);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('apiserver-startup on a worker', () => {
  it('is a unit systemd-analyze accepts where the script is installed, and enables before the kubelet', async () => {
    const r = await hostExec(lab, WORKER, ['systemd-analyze', 'verify', `/etc/systemd/system/${BOOT_UNIT}`]);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.code).toBe(0);
    await worker(['systemctl', 'enable', BOOT_UNIT]);
    const shown = await worker(['systemctl', 'show', '-p', 'Before', '-p', 'Type', BOOT_UNIT]);
    expect(shown).toMatch(/^Type=oneshot$/m);
    expect(shown).toMatch(/^Before=.*\bkubelet\.service\b/m);
  });

  it('Service IP down: points the name at the first live master, in order, and waits in a transient unit', async () => {
    await silence(masters[0]!);
    const before = hostsText || (await worker(['cat', '/etc/hosts']));
    await worker(['systemctl', 'start', BOOT_UNIT]);
    expect(await isActive(BOOT_UNIT)).toBe('active');
    await waitPointedAt(masters[1]!.ip, 1000);
    expect(await isActive(waitUnit(CLUSTER))).toBe('active');
    // Every other line of the file is untouched.
    const { begin } = hostsMarkers(CLUSTER);
    expect(hostsText.slice(0, hostsText.indexOf(begin))).toBe(before);
  });

  it('that master down too (cut off: probes time out): the waiter moves the name to the next live one', async () => {
    await fault(lab, masters[1]!.name, 'down');
    await waitPointedAt(masters[2]!.ip, 15_000);
  });

  it('Service IP back: the name points at it again and the waiter ends', async () => {
    await listen(service);
    await waitPointedAt(service.ip, 15_000);
    await waitInactive(waitUnit(CLUSTER), 10_000);
    expect(await isActive(waitUnit(CLUSTER))).not.toBe('active');
  });

  it('at the next boot with the Service IP up, keeps it and starts no waiter', async () => {
    await worker(['systemctl', 'restart', BOOT_UNIT]);
    expect(await pointedAt()).toBe(service.ip);
    expect(await isActive(waitUnit(CLUSTER))).not.toBe('active');
  });
});
