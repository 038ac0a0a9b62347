// The SSH fleet against real OpenSSH sshds in lab hosts: logins, sudo, jump host, faults, copies,
// MaxStartups, timeouts, and secrets kept out of logs, process lists and messages.
// kubeon's entry point loads this polyfill first; the in-process CLI runs here need it too.
import 'reflect-metadata';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, type LabHost, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import { script, sh } from '../../src/fleet/script.js';
import type { FleetTarget } from '../../src/fleet/types.js';
import { kubeon } from '../cli/harness.js';

const ID = testLabId('t-fleet-main');
let lab: Lab;
let work: string;

const host = (name: string): LabHost => lab.hosts.find((h) => h.name === name)!;

async function fleetOf(opts: Partial<ConstructorParameters<typeof Fleet>[0]> = {}) {
  const log = new MemoryLog();
  const fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(undefined), acceptNew: new Set(), ignore: false },
    env: { HOME: work },
    log,
    connectTimeoutMs: 8000,
    ...opts,
  });
  return { fleet, log };
}

const rootKey = (name: string, extra: Partial<FleetTarget> = {}): FleetTarget => ({
  name,
  host: host(name).ip,
  port: 22,
  user: 'root',
  privateKeyFile: host(name).keyPath,
  ...extra,
});

const hello = script('hello', sh`echo "hi from $(hostname) as $(id -un)"`);

/** Samples the machine's process list (which includes every lab host's processes) until stopped. */
function samplePs(): { stop(): Promise<string> } {
  let text = '';
  let running = true;
  const loop = (async () => {
    while (running) {
      text += await new Promise<string>((resolve) =>
        execFile('ps', ['-eo', 'args'], { maxBuffer: 64 << 20 }, (_e, out) => resolve(out ?? '')),
      );
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return text;
    },
  };
}

/** A kubeon home per test: the tests register the same lab hosts in several clusters, which one home refuses. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(work, 'home-'));
  return { KUBEON_HOME: home, HOME: work, PATH: process.env.PATH, NO_COLOR: '1', ...extra };
}

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, light: 6, refuseRoot: ['l004'] });
  work = mkdtempSync(join(tmpdir(), 'kubeon-fleet-'));
}, 300_000);

afterAll(async () => {
  await labDown(ID);
}, 300_000);

describe('logins', () => {
  it('logs in with a password, ed25519, RSA and ECDSA keys with passphrases, the agent and default keys', async () => {
    const rsa = join(work, 'id_rsa_pp');
    const ecdsa = join(work, 'id_ecdsa_pp');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', 'rsa pass phrase', '-f', rsa]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', 'ec pass', '-f', ecdsa]);
    const agentKey = join(work, 'id_agent');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', agentKey]);
    const home = join(work, 'defaulthome');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')]);
    const pubs = [rsa, ecdsa, agentKey, join(home, '.ssh', 'id_ed25519')]
      .map((k) => readFileSync(`${k}.pub`, 'utf8'))
      .join('');
    const add = await hostExec(lab, 'l001', ['sh', '-c', 'cat >> /root/.ssh/authorized_keys'], {
      input: pubs,
    });
    expect(add.code).toBe(0);

    const sock = join(work, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      // The socket file appears before the agent listens on it: retry until ssh-add gets through.
      for (let i = 0; ; i++) {
        try {
          execFileSync('ssh-add', ['-q', agentKey], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
          break;
        } catch (err) {
          if (i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }

      const l1 = host('l001');
      const cases: [string, FleetTarget, NodeJS.ProcessEnv][] = [
        [
          'password',
          { name: 'pw', host: l1.ip, port: 22, user: 'root', password: l1.rootPassword },
          { HOME: work },
        ],
        ['ed25519', rootKey('l001', { name: 'ed' }), { HOME: work }],
        [
          'rsa+pp',
          rootKey('l001', { name: 'rsa', privateKeyFile: rsa, privateKeyPassphrase: 'rsa pass phrase' }),
          { HOME: work },
        ],
        [
          'ecdsa+pp',
          rootKey('l001', { name: 'ec', privateKeyFile: ecdsa, privateKeyPassphrase: 'ec pass' }),
          { HOME: work },
        ],
        [
          'agent',
          { name: 'agent', host: l1.ip, port: 22, user: 'root' },
          { HOME: work, SSH_AUTH_SOCK: sock },
        ],
        ['default key', { name: 'default', host: l1.ip, port: 22, user: 'root' }, { HOME: home }],
      ];
      for (const [what, target, env] of cases) {
        const { fleet, log } = await fleetOf({ env });
        const [r] = await fleet.run([target], hello);
        await fleet.close();
        expect(r!.error, what).toBeUndefined();
        expect(r!.stdout, what).toBe('hi from l001 as root\n');
        expect(log.events.find((e) => e.event === 'connect')?.error, what).toBeUndefined();
      }

      const { fleet } = await fleetOf();
      const [wrongPp] = await fleet.run(
        [rootKey('l001', { name: 'wrongpp', privateKeyFile: rsa, privateKeyPassphrase: 'nope' })],
        hello,
      );
      expect(wrongPp!.error).toEqual({ kind: 'auth', message: expect.stringContaining('wrong passphrase') });
      await fleet.close();
    } finally {
      agent.kill();
    }
  });

  it('names the node, the user and the methods tried when the login fails, without the password', async () => {
    const { fleet } = await fleetOf();
    const bad = 'Wr0ng-Secret-Pw';
    const [r] = await fleet.run(
      [{ name: 'n-bad', host: host('l002').ip, port: 22, user: 'root', password: bad }],
      hello,
    );
    await fleet.close();
    expect(r!.error?.kind).toBe('auth');
    expect(r!.error?.message).toMatch(/root@n-bad .*tried: password/);
    expect(JSON.stringify(r)).not.toContain(bad);
  });

  it('uses sudo with the password on stdin for a non-root user, and reports a wrong sudo password as auth', async () => {
    const l4 = host('l004');
    const user = { name: 'l004', host: l4.ip, port: 22, user: l4.sudoUser, password: l4.sudoPassword };
    const { fleet } = await fleetOf();
    const [ok] = await fleet.run([{ ...user, sudoPassword: l4.sudoPassword }], hello);
    expect(ok!.error).toBeUndefined();
    expect(ok!.stdout).toBe('hi from l004 as root\n');
    const { fleet: other } = await fleetOf();
    const [bad] = await other.run([{ ...user, sudoPassword: 'not-the-sudo-pw' }], hello);
    expect(bad!.error?.kind).toBe('auth');
    expect(bad!.error?.message).toMatch(/sudo as kubeon failed/);
    await fleet.close();
    await other.close();
  });

  it('reaches nodes through a jump host with its own login', async () => {
    const l1 = host('l001');
    const { fleet } = await fleetOf({
      bastion: { host: l1.ip, port: 22, user: 'root', password: l1.rootPassword },
    });
    const results = await fleet.run(
      [rootKey('l002'), rootKey('l003')],
      script('origin', sh`echo "$SSH_CONNECTION"`),
    );
    await fleet.close();
    for (const r of results) {
      expect(r.error).toBeUndefined();
      expect(r.stdout.split(' ')[0]).toBe(l1.ip);
    }

    const env = cliEnv();
    const key = l1.keyPath;
    const reg = await kubeon(
      [
        'create',
        'c5',
        'v1.31.2',
        '-m',
        host('l002').ip,
        '--default-pk-file',
        key,
        '--bastion',
        `root@${l1.ip}:22`,
        '--bastion-pk-file',
        key,
        '--register-only',
      ],
      env,
    );
    expect(reg.code).toBe(0);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: remote shell expansion
    const ex = await kubeon(['exec', 'c5@all', '--', 'echo "${SSH_CONNECTION%% *}"'], env);
    expect(ex.stdout).toBe(`l002 | ${l1.ip}\n`);
  });
});

describe('connections', () => {
  it('gets 48 connections into one sshd at its default MaxStartups by retrying refused handshakes', async () => {
    const targets = Array.from({ length: 48 }, (_, i) => rootKey('l006', { name: `m${i}` }));
    const { fleet, log } = await fleetOf({ concurrency: 64 });
    const results = await fleet.query(targets, 'true', 'true');
    await fleet.close();
    expect(results.filter((r) => r.error).map((r) => r.error)).toEqual([]);
    expect(log.events.filter((e) => e.event === 'connect-retry').length).toBeGreaterThan(0);
  });

  it('reuses one connection per node for every step and removes its temporary files', async () => {
    const { fleet, log } = await fleetOf();
    for (let i = 0; i < 3; i++) await fleet.run([rootKey('l002')], hello);
    await fleet.close();
    expect(log.events.filter((e) => e.event === 'connect')).toHaveLength(1);
    const left = await hostExec(lab, 'l002', ['sh', '-c', 'ls -a /tmp | grep kubeon || true']);
    expect(left.stdout).toBe('');
  });

  it('kills the whole remote process group when a step overruns its timeout', async () => {
    const { fleet } = await fleetOf();
    const started = Date.now();
    const [r] = await fleet.run(
      [rootKey('l002')],
      script('sleepers', sh`sleep 301 & sleep 302 & sleep 303`, sh`wait`),
      { timeoutMs: 2000 },
    );
    await fleet.close();
    expect(r!.error?.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(12_000);
    const ps = await hostExec(lab, 'l002', ['ps', '-eo', 'args']);
    expect(ps.stdout).not.toMatch(/sleep 30[123]/);
  });
});

describe('a node that disappears mid-command', () => {
  it('is reported as timed out once the step timeout and its grace have passed, not hung on', async () => {
    const { fleet } = await fleetOf();
    await fleet.run([rootKey('l005')], hello);
    const started = Date.now();
    const pending = fleet.run([rootKey('l005'), rootKey('l001')], script('wait', sh`sleep 4`), {
      timeoutMs: 2000,
    });
    await new Promise((r) => setTimeout(r, 800));
    await fault(lab, 'l005', 'down');
    try {
      const [gone, fine] = await pending;
      expect(gone!.error?.kind).toBe('timeout');
      expect(fine!.error?.kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      await fault(lab, 'l005', 'up');
      await fleet.close();
    }
  }, 60_000);
});

describe('cp', () => {
  it('leaves no partial file at the destination when the connection breaks mid-copy', async () => {
    const big = join(work, 'big.bin');
    writeFileSync(big, Buffer.alloc(200 << 20, 7));
    const { fleet } = await fleetOf();
    let cut = false;
    const results = await fleet.put([rootKey('l003')], big, '/opt/big.bin', {
      onProgress: (p) => {
        if (!cut && p.sent > 30 << 20) {
          cut = true;
          void hostExec(lab, 'l003', ['sh', '-c', 'kill -9 $(pgrep -x sftp-server)']);
        }
      },
    });
    await fleet.close();
    expect(cut).toBe(true);
    expect(results[0]!.error).toBeDefined();
    const there = await hostExec(lab, 'l003', [
      'sh',
      '-c',
      'test -e /opt/big.bin && echo present || echo absent',
    ]);
    expect(there.stdout.trim()).toBe('absent');
  }, 60_000);
});

describe('kubeon CLI on a registered cluster', () => {
  it('registers, runs and copies with metacharacters, and keeps passwords out of logs, ps and messages', async () => {
    const l1 = host('l001');
    const l4 = host('l004');
    const env = cliEnv({ L1_PW: l1.rootPassword, L4_PW: l4.sudoPassword });
    const specPath = join(work, 'c1.yaml');
    writeFileSync(
      specPath,
      [
        'masters:',
        `  - ip: ${l1.ip}`,
        '    passwordFrom: env:L1_PW',
        'workers:',
        `  - ip: ${host('l002').ip}`,
        `    privateKeyFile: ${host('l002').keyPath}`,
        `  - ip: ${l4.ip}`,
        `    user: ${l4.sudoUser}`,
        '    passwordFrom: env:L4_PW',
        '',
      ].join('\n'),
    );
    const ps = samplePs();
    const reg = await kubeon(['create', 'c1', 'v1.31.2', '-f', specPath, '--register-only'], env);
    expect(reg.stderr).toContain('registered');
    expect(reg.code).toBe(0);

    const odd = `d i r/it's "q" $(touch /tmp/pwned)`;
    const ex = await kubeon(
      ['exec', 'c1@all', '--sudo', '--', 'sh', '-c', 'sleep 1; mkdir -p "/tmp/$1"; id -un', 'sh', odd],
      env,
    );
    expect(ex.code).toBe(0);
    expect(ex.stdout.split('\n').sort().filter(Boolean)).toEqual([
      'l001 | root',
      'l002 | root',
      'l004 | root',
    ]);
    expect(ex.stderr).toContain('3 nodes: 3 ok, 0 failed, 0 unreachable');

    const src = join(work, `src "x" $(y)`);
    writeFileSync(src, 'payload\n');
    const cp = await kubeon(['cp', 'c1@all', src, `/tmp/${odd}/`], env);
    expect(cp.code).toBe(0);
    const again = await kubeon(['-o', 'json', 'cp', 'c1@all', src, `/tmp/${odd}/`], env);
    expect(JSON.parse(again.stdout).map((r: { unchanged: number }) => r.unchanged)).toEqual([1, 1, 1]);
    const json = await kubeon(
      ['-o', 'json', 'exec', 'c1@workers', '--', 'cat', `/tmp/${odd}/src "x" $(y)`],
      env,
    );
    const rows = JSON.parse(json.stdout) as { node: string; stdout: string; exitCode: number }[];
    expect(rows.map((r) => [r.node, r.exitCode, r.stdout])).toEqual([
      ['l002', 0, 'payload\n'],
      ['l004', 0, 'payload\n'],
    ]);
    const procs = await ps.stop();
    for (const h of ['l001', 'l002', 'l004']) {
      const pwned = await hostExec(lab, h, ['sh', '-c', 'test -e /tmp/pwned && echo yes || echo no']);
      expect(pwned.stdout.trim()).toBe('no');
    }

    const wrong = await kubeon(['exec', 'c1@all', '--', 'true'], { ...env, L4_PW: 'Not-The-Pw-123' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/l004: auth: authentication failed for kubeon@l004/);

    const secrets = [l1.rootPassword, l4.sudoPassword, 'Not-The-Pw-123'];
    const logDir = join(env.KUBEON_HOME!, 'clusters', 'c1', 'logs');
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8'));
    expect(logs.length).toBeGreaterThanOrEqual(5);
    expect(logs.join('')).toContain('"event":"run"');
    const outputs = [reg, ex, cp, again, json, wrong].map((r) => r.stdout + r.stderr).join('');
    expect(procs).toContain('sshd');
    for (const s of secrets) {
      expect(procs).not.toContain(s);
      expect(logs.join('')).not.toContain(s);
      expect(outputs).not.toContain(s);
    }
  });

  it('finishes the healthy nodes when one is down, one slow and one has a new host key', async () => {
    const env = cliEnv();
    const names = ['l001', 'l002', 'l003', 'l005'];
    const flags = names.flatMap((n, i) => [i === 0 ? '-m' : '-w', host(n).ip]);
    const reg = await kubeon(
      ['create', 'c2', 'v1.31.2', ...flags, '--default-pk-file', host('l001').keyPath, '--register-only'],
      env,
    );
    expect(reg.code).toBe(0);
    const oldFp = host('l005').hostKeyFingerprint;
    await fault(lab, 'l005', 'hostkey');
    await fault(lab, 'l003', 'down');
    await fault(lab, 'l002', 'slow', 500);
    try {
      const started = Date.now();
      const r = await kubeon(
        ['exec', 'c2@all', '--connect-timeout', '1500ms', '--timeout', '20s', '--', 'hostname'],
        env,
      );
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('l001 | l001\n');
      expect(r.stderr).toContain('4 nodes: 1 ok, 0 failed, 2 unreachable, 1 hostkey-changed');
      expect(r.stderr).toMatch(/l003: unreachable: TCP connect to .* timed out/);
      expect(r.stderr).toMatch(
        /l002: unreachable: .*(no SSH handshake within the connect timeout|timed out)/,
      );
      expect(r.stderr).toContain(
        `l005: hostkey-changed: host key of l005 (${host('l005').ip}:22) changed: pinned ${oldFp}, offered ${host('l005').hostKeyFingerprint}`,
      );
      expect(r.stderr).toContain('--accept-new-hostkey l005');
      expect(took).toBeLessThan(15_000);

      const ignored = await kubeon(
        ['exec', 'c2@name=l005', '--insecure-ignore-hostkey', '--', 'hostname'],
        env,
      );
      expect(ignored.code).toBe(0);
      expect(ignored.stderr).toContain('warning: --insecure-ignore-hostkey');
      const stillRefused = await kubeon(['exec', 'c2@name=l005', '--', 'hostname'], env);
      expect(stillRefused.code).toBe(1);
      const accepted = await kubeon(
        ['exec', 'c2@name=l005', '--accept-new-hostkey', 'l005', '--', 'hostname'],
        env,
      );
      expect(accepted.code).toBe(0);
      const pinned = await kubeon(['exec', 'c2@name=l005', '--', 'hostname'], env);
      expect(pinned.stdout).toBe('l005 | l005\n');
    } finally {
      await fault(lab, 'l003', 'up');
      await fault(lab, 'l002', 'fast');
    }
  });

  it('names nodes from their hostnames, refusing an invalid or duplicate one with the flag to use', async () => {
    const env = cliEnv();
    const key = host('l001').keyPath;
    // hostname(1) refuses such a name; the system call does not.
    const set = await hostExec(lab, 'l006', [
      'python3',
      '-c',
      'import socket; socket.sethostname("Bad_Name")',
    ]);
    expect(set.code).toBe(0);
    try {
      const r = await kubeon(
        [
          'create',
          'c4',
          'v1.31.2',
          '-m',
          host('l001').ip,
          '-M',
          'l002',
          '-w',
          host('l002').ip,
          '-w',
          host('l006').ip,
          '--default-pk-file',
          key,
          '--register-only',
        ],
        env,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('hostname "l002" is also the name of');
      expect(r.stderr).toContain(
        'hostname "Bad_Name" is not a valid Kubernetes node name; give one with --worker-name',
      );
      const ok = await kubeon(
        [
          'create',
          'c4',
          'v1.31.2',
          '-m',
          host('l001').ip,
          '-w',
          host('l006').ip,
          '-W',
          'w-six',
          '--default-pk-file',
          key,
          '--register-only',
        ],
        env,
      );
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/l001 +master/);
      expect(ok.stdout).toMatch(/w-six +worker/);
      const state = JSON.parse(readFileSync(join(env.KUBEON_HOME!, 'clusters', 'c4', 'state.json'), 'utf8'));
      expect(state.status).toBe('registered');
      expect(state.nodes[host('l006').ip]).toMatchObject({ name: 'w-six', hostname: 'Bad_Name' });
    } finally {
      await hostExec(lab, 'l006', ['hostname', 'l006']);
    }
  });

  it('stores nothing when a node cannot be registered, and names it', async () => {
    const env = cliEnv();
    await fault(lab, 'l003', 'down');
    try {
      const r = await kubeon(
        [
          'create',
          'c3',
          'v1.31.2',
          '-m',
          host('l001').ip,
          '-w',
          host('l003').ip,
          '--default-pk-file',
          host('l001').keyPath,
          '--register-only',
          '--connect-timeout',
          '2s',
        ],
        env,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/worker@10\.\d+\.\d+\.\d+: unreachable/);
      expect(r.stderr).toContain('nothing was stored');
      expect(readdirSync(join(env.KUBEON_HOME!, 'clusters'))).not.toContain('c3');
    } finally {
      await fault(lab, 'l003', 'up');
    }
  });
});
