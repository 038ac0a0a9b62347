// Interrupts and leftovers against real sshds: Ctrl-C and SIGTERM stop the remote commands and exit
// 130/143; a kubeon killed with SIGKILL anywhere in exec, cp or create --register-only leaves
// nothing that the next command does not sweep; a lost connection and a down node are reported.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, type LabHost, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import { script, sh } from '../../src/fleet/script.js';
import { kubeon } from '../cli/harness.js';

const ID = testLabId('t-interrupts');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let lab: Lab;
let work: string;
let env: NodeJS.ProcessEnv;
const NAMES = ['l001', 'l002', 'l003'];

const host = (name: string): LabHost => lab.hosts.find((h) => h.name === name)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** kubeon as a real process, so it can be signalled and killed. */
function cli(args: string[], childEnv: NodeJS.ProcessEnv = env) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args], {
    env: childEnv,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, out: () => stdout + stderr };
}

async function onNode(name: string, command: string): Promise<string> {
  return (await hostExec(lab, name, ['sh', '-c', command])).stdout.trim();
}

/** Everything a kubeon run may leave on a node; empty when it left nothing. */
async function leftovers(name: string): Promise<string> {
  return onNode(
    name,
    [
      'ls -d /tmp/.kubeon-* /var/tmp/kubeon-fanout-* 2>/dev/null',
      'grep -h kubeon-fanout- /root/.ssh/authorized_keys 2>/dev/null',
      'ls -a /opt/dst 2>/dev/null | grep -e "\\.tmp$" -e "\\.up$"',
      'true',
    ].join('; '),
  )
    .then(async (files) => `${files}\n${await pgrep(name, 'kubeon-|sleep 3[0-9]')}`)
    .then((s) => s.trim());
}

/** Processes on the node whose command line matches `pattern` (pgrep never lists itself). */
async function pgrep(name: string, pattern: string): Promise<string> {
  return (await hostExec(lab, name, ['pgrep', '-a', '-f', pattern])).stdout.trim();
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  seen: () => string = () => '',
  // Generous: tsx start-up alone takes seconds on a busy machine.
  ms = 45_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; kubeon said: ${seen()}`);
    await sleep(100);
  }
}

const registerArgs = (name: string) => [
  'create',
  name,
  'v1.31.2',
  ...NAMES.flatMap((n) => ['-m', host(n).ip]),
  '--default-pk-file',
  host('l001').keyPath,
  '--register-only',
];

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, light: 3 });
  work = mkdtempSync(join(tmpdir(), 'kubeon-interrupts-'));
  env = {
    KUBEON_HOME: join(work, 'home'),
    HOME: work,
    PATH: process.env.PATH,
    NO_COLOR: '1',
  };
  const reg = await kubeon(registerArgs('c1'), env);
  expect(reg.stderr).toContain('registered');
  expect(reg.code).toBe(0);
  writeFileSync(join(work, 'big.bin'), Buffer.alloc(64 << 20, 3));
}, 300_000);

afterAll(async () => {
  await labDown(ID);
}, 120_000);

describe('Ctrl-C and SIGTERM', () => {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} of exec -- sleep 30 ends the remote sleep, removes the scripts and exits ${code}`, async () => {
      const run = cli(['exec', 'c1@all', '--', 'sleep 30']);
      await until(
        'sleep on every node',
        async () => (await Promise.all(NAMES.map((n) => pgrep(n, 'sleep 30')))).every(Boolean),
        run.out,
      );
      const sent = Date.now();
      run.child.kill(sig);
      const r = await run.done;
      expect(r.code, run.out()).toBe(code);
      expect(Date.now() - sent).toBeLessThan(10_000);
      expect(r.stderr).toContain(`${sig}: stopping the remote commands`);
      for (const n of NAMES) expect(await leftovers(n), n).toBe('');
    }, 60_000);
  }
});

describe('a login that is not root (commands run through sudo)', () => {
  it('SIGINT ends the root sleep; after SIGKILL the next command ends it', async () => {
    const l3 = host('l003');
    const sudoEnv = { ...env, KUBEON_HOME: join(work, 'sudo-home'), L3_PW: l3.sudoPassword };
    const specPath = join(work, 's1.yaml');
    writeFileSync(
      specPath,
      ['masters:', `  - ip: ${l3.ip}`, `    user: ${l3.sudoUser}`, '    passwordFrom: env:L3_PW', ''].join(
        '\n',
      ),
    );
    const reg = await kubeon(['create', 's1', 'v1.31.2', '-f', specPath, '--register-only'], sudoEnv);
    expect(reg.code, reg.stderr).toBe(0);

    const run = cli(['exec', 's1@all', '--', 'id -un; sleep 31'], sudoEnv);
    await until('the root sleep', async () => (await pgrep('l003', 'sleep 31')).length > 0, run.out);
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.code, run.out()).toBe(130);
    expect(r.stdout).toContain('root');
    expect(await leftovers('l003')).toBe('');

    const killed = cli(['exec', 's1@all', '--', 'sleep 32'], sudoEnv);
    await until('the root sleep', async () => (await pgrep('l003', 'sleep 32')).length > 0, killed.out);
    killed.child.kill('SIGKILL');
    await killed.done;
    await sleep(300);
    const next = await kubeon(['exec', 's1@all', '--', 'true'], sudoEnv);
    expect(next.code, next.stderr).toBe(0);
    expect(await leftovers('l003')).toBe('');
  }, 60_000);
});

describe('SIGKILL at random points', () => {
  // Each killed run is followed by the next command, which must succeed and leave nothing behind.
  const next = async () => {
    await sleep(300);
    const r = await kubeon(['exec', 'c1@all', '--', 'true'], env);
    expect(r.code, r.stderr).toBe(0);
    for (const n of NAMES) expect(await leftovers(n), n).toBe('');
  };

  it('exec, cp and create --register-only, twice each', async () => {
    for (let i = 0; i < 2; i++) {
      // A home of its own: one home refuses nodes that another of its clusters lists.
      const regEnv = { ...env, KUBEON_HOME: join(work, `reg-${i}`) };
      const anyNode = async (f: (n: string) => Promise<string>) =>
        (await Promise.all(NAMES.map(f))).some(Boolean);
      // Where the kill lands: after the remote work began (exec, cp), or anywhere (register, short).
      const cases: [string, string[], (() => Promise<boolean>) | undefined][] = [
        ['exec', ['exec', 'c1@all', '--', 'sleep 35'], () => anyNode((n) => pgrep(n, 'sleep 35'))],
        [
          'cp',
          ['cp', 'c1@all', join(work, 'big.bin'), '/opt/dst/'],
          () => anyNode((n) => onNode(n, 'ls /tmp/.kubeon-*/*.up 2>/dev/null || true')),
        ],
        ['register', registerArgs(`r${i}`), undefined],
      ];
      for (const [what, args, started] of cases) {
        const run = cli(args, what === 'register' ? regEnv : env);
        if (started)
          await until(`${what} to start its remote work`, started, run.out).catch((err) => {
            run.child.kill('SIGKILL');
            throw err;
          });
        const delay = started ? Math.floor(Math.random() * 400) : 300 + Math.floor(Math.random() * 2500);
        await sleep(delay);
        run.child.kill('SIGKILL');
        await run.done;
        try {
          await next();
        } catch (err) {
          throw new Error(`after SIGKILL of ${what} at ${delay} ms: ${(err as Error).message}`);
        }
        if (what === 'register') {
          // The killed registration's lock and directory do not stop the same registration.
          const again = await kubeon(registerArgs(`r${i}`), regEnv);
          expect(again.code, again.stderr).toBe(0);
        }
      }
      await onNode('l001', 'rm -rf /opt/dst');
    }
  }, 240_000);

  it('sweeps a fan-out key and staging left by a killed create', async () => {
    const mark = 'kubeon-fanout-0123456789ab';
    await onNode(
      'l002',
      `mkdir -p /var/tmp/${mark} && echo 'restrict,command="/var/tmp/${mark}/recv" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ6c ${mark}' >> /root/.ssh/authorized_keys`,
    );
    expect(await leftovers('l002')).toContain(mark);
    const keys = await onNode('l002', 'grep -v kubeon-fanout- /root/.ssh/authorized_keys');
    const r = await kubeon(['exec', 'c1@name=l002', '--', 'true'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await leftovers('l002')).toBe('');
    expect(await onNode('l002', 'cat /root/.ssh/authorized_keys')).toBe(keys);
  });
});

describe('lost and down nodes', () => {
  it('reports a connection lost mid-command as unreachable: connection lost', async () => {
    const fleet = new Fleet({
      hostKeys: { pins: await HostKeyPins.load(undefined), acceptNew: new Set(), ignore: true },
      env: { HOME: work },
      log: new MemoryLog(),
      keepaliveMs: 500,
    });
    const t = {
      name: 'l003',
      host: host('l003').ip,
      port: 22,
      user: 'root',
      privateKeyFile: host('l003').keyPath,
    };
    const pending = fleet.run([t], script('wait', sh`sleep 20`));
    await until('sleep on l003', async () => Boolean(await pgrep('l003', 'sleep 20')));
    await fault(lab, 'l003', 'down');
    try {
      const [r] = await pending;
      expect(r!.error?.kind).toBe('unreachable');
      expect(r!.error?.message).toMatch(/^connection lost during "wait"/);
    } finally {
      await fault(lab, 'l003', 'up');
      await fleet.close();
      await onNode('l003', 'pkill -f "sleep 20"; true');
    }
  }, 60_000);

  it('gives up on a down node within --connect-timeout', async () => {
    await fault(lab, 'l003', 'down');
    try {
      const started = Date.now();
      const r = await kubeon(['exec', 'c1@name=l003', '--connect-timeout', '3s', '--', 'true'], env);
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/l003: unreachable/);
      expect(took).toBeLessThan(5000);
    } finally {
      await fault(lab, 'l003', 'up');
    }
  }, 30_000);
});
