// Both kinds of lab host, end to end, as root: isolation, logins, sudo, systemd, faults, teardown.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, type LabHost, labDown, labStatus, labUp } from './api.js';
import { ssh } from './support/ssh.js';
import { testLabId } from './support/test-id.js';

const ID = testLabId('t-hosts-main');
const SHAPE = { id: ID, light: 3, system: 3, refuseRoot: ['l003', 's003'] };
let lab: Lab;
const INOTIFY = '/proc/sys/fs/inotify/max_user_instances';
let inotifyBefore = '';

const host = (name: string): LabHost => {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name}`);
  return h;
};

/** Milliseconds from TCP connect to the SSH banner. */
function bannerMs(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const s = connect({ host: ip, port: 22 });
    s.setTimeout(10_000, () => reject(new Error('no banner')));
    s.on('data', () => {
      s.destroy();
      resolve(performance.now() - t);
    });
    s.on('error', reject);
  });
}

beforeAll(async () => {
  await labDown(ID);
  inotifyBefore = readFileSync(INOTIFY, 'utf8');
  lab = await labUp(SHAPE);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
});

it('returns system hosts that have finished booting', async () => {
  for (const h of ['s001', 's002', 's003']) {
    const r = await hostExec(lab, h, ['systemctl', 'is-system-running']);
    expect(['running', 'degraded']).toContain(r.stdout.trim());
  }
});

describe.each([
  ['light', 'l001', 'l002', 'l003'],
  ['system', 's001', 's002', 's003'],
])('%s hosts', (_kind, a, b, refusing) => {
  it('keep /etc/kubernetes, /etc, /var, /opt, /usr/local, homes and /tmp private to each host', async () => {
    const marker = `/etc/kubernetes/t-hosts-${a}-${process.pid}`;
    const paths = [
      marker,
      `/opt/kubeon-${process.pid}`,
      `/usr/local/bin/kubeon-${process.pid}`,
      `/var/lib/etcd/m-${process.pid}`,
      ...[
        '/etc/sysctl.d',
        '/etc/modules-load.d',
        '/etc/security/limits.d',
        '/etc/systemd/system',
        '/var/lib/kubelet',
        '/root',
        '/home/kubeon',
        '/tmp',
        '/var/tmp',
        '/usr/bin',
        '/usr/lib/systemd/system',
      ].map((d) => `${d}/t-hosts-${process.pid}`),
    ];
    const w = await ssh(
      lab,
      host(a),
      paths.map((p) => `mkdir -p "$(dirname ${p})" && echo ${a} > ${p}`).join(' && '),
    );
    expect(w.code, w.stderr).toBe(0);
    for (const p of paths) {
      expect((await hostExec(lab, a, ['cat', p])).stdout).toBe(`${a}\n`);
      expect((await hostExec(lab, b, ['test', '-e', p])).code).toBe(1);
      expect(existsSync(p)).toBe(false);
    }
  });

  it('have their own hostname, /etc/hosts, host key and process table', async () => {
    const r = await ssh(
      lab,
      host(a),
      'hostname; grep -c . /etc/hosts >/dev/null; ps -e --no-headers | wc -l',
    );
    expect(r.code, r.stderr).toBe(0);
    const [name, procs] = r.stdout.trim().split('\n');
    expect(name).toBe(a);
    expect(Number(procs)).toBeLessThan(20);
    expect(host(a).hostKeyFingerprint).not.toBe(host(b).hostKeyFingerprint);
    const scanned = execFileSync('sh', [
      '-c',
      `ssh-keyscan -t ed25519 ${host(a).ip} 2>/dev/null | ssh-keygen -lf -`,
    ]);
    expect(scanned.toString()).toContain(host(a).hostKeyFingerprint);
  });

  it('accept root by key and by password, and refuse a wrong password', async () => {
    expect((await ssh(lab, host(a), 'id -u')).stdout).toBe('0\n');
    const pw = await ssh(lab, host(a), 'id -u', { password: host(a).rootPassword });
    expect(pw.stdout, pw.stderr).toBe('0\n');
    const wrong = await ssh(lab, host(a), 'true', { password: `${host(a).rootPassword}x` });
    expect(wrong.code).toBe(255);
    expect(wrong.stderr).toMatch(/Permission denied/);
    expect(host(a).rootPassword).not.toBe(host(b).rootPassword);
  });

  it('have a sudo user who logs in by key and password and needs the password for sudo', async () => {
    const h = host(a);
    const byKey = await ssh(lab, h, 'id -un', { user: h.sudoUser });
    expect(byKey.stdout, byKey.stderr).toBe(`${h.sudoUser}\n`);
    const byPw = await ssh(lab, h, 'id -un', { user: h.sudoUser, password: h.sudoPassword });
    expect(byPw.stdout, byPw.stderr).toBe(`${h.sudoUser}\n`);
    const noPw = await ssh(lab, h, 'sudo -n id -u', { user: h.sudoUser });
    expect(noPw.code).not.toBe(0);
    expect(noPw.stderr).toMatch(/password is required/);
    const wrongPw = await ssh(lab, h, "sudo -S -p '' id -u", { user: h.sudoUser, input: 'not-it\n' });
    expect(wrongPw.code).not.toBe(0);
    const ok = await ssh(lab, h, "sudo -S -p '' id -u", { user: h.sudoUser, input: `${h.sudoPassword}\n` });
    expect(ok.stdout, ok.stderr).toBe('0\n');
  });

  it('can refuse root so that only the sudo user gets in', async () => {
    const h = host(refusing);
    expect(h.refusesRoot).toBe(true);
    expect((await ssh(lab, h, 'true')).code).toBe(255);
    expect((await ssh(lab, h, 'true', { password: h.rootPassword })).code).toBe(255);
    const ok = await ssh(lab, h, "sudo -S -p '' id -u", { user: h.sudoUser, input: `${h.sudoPassword}\n` });
    expect(ok.stdout, ok.stderr).toBe('0\n');
  });

  it('keep global sysctls away from the machine while net.* is per host', async () => {
    const before = readFileSync('/proc/sys/vm/overcommit_ratio', 'utf8');
    const vm = await ssh(lab, host(a), 'sysctl -w vm.overcommit_ratio=13');
    expect(vm.code).not.toBe(0);
    expect(readFileSync('/proc/sys/vm/overcommit_ratio', 'utf8')).toBe(before);
    const kernel = await hostExec(lab, a, ['sh', '-c', 'echo 4000 >/proc/sys/kernel/pid_max']);
    expect(kernel.code).not.toBe(0);
    const fwdBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    const net = await ssh(lab, host(a), 'sysctl -w net.ipv4.ip_forward=1 && sysctl -n net.ipv4.ip_forward');
    expect(net.stdout, net.stderr).toContain('1');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(fwdBefore);
    expect((await hostExec(lab, b, ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout).toBe(fwdBefore);
  });

  it('go down (link cut) and come back up', async () => {
    await fault(lab, a, 'down');
    const r = await ssh(lab, host(a), 'true', { connectTimeout: 2 });
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/timed out|refused|No route/);
    expect((await ssh(lab, host(b), 'true')).code).toBe(0);
    await fault(lab, a, 'up');
    expect((await ssh(lab, host(a), 'true')).code).toBe(0);
  });

  it('get slow by the requested latency and fast again', async () => {
    // Where sshd sees its client come from tells relayed (slow) from direct traffic, whatever the load.
    const client = async (name: string) =>
      (await ssh(lab, host(name), 'echo $SSH_CLIENT')).stdout.split(' ')[0];
    const quick = await ssh(lab, host(a), 'true');
    expect(await client(a)).toBe(lab.gatewayIp);
    await fault(lab, a, 'slow', 400);
    const slowBanner = await bannerMs(host(a).ip);
    expect(slowBanner).toBeGreaterThanOrEqual(400);
    const slow = await ssh(lab, host(a), 'true');
    expect(slow.code, slow.stderr).toBe(0);
    expect(slow.ms - quick.ms).toBeGreaterThanOrEqual(400);
    expect(await client(a)).not.toBe(lab.gatewayIp);
    expect(await client(b)).toBe(lab.gatewayIp);
    expect(await bannerMs(host(b).ip)).toBeLessThan(slowBanner);
    await fault(lab, a, 'fast');
    expect(await client(a)).toBe(lab.gatewayIp);
  });

  it('change host key on demand, which a client pinned to the old key refuses', async () => {
    const dir = mkdtempSync(`${tmpdir()}/t-hosts-kh-`);
    copyFileSync(lab.knownHostsPath, `${dir}/old`);
    const before = host(a).hostKeyFingerprint;
    await fault(lab, a, 'hostkey');
    const after = (await labStatus(ID))?.hosts.find((h) => h.name === a)?.hostKeyFingerprint;
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const pinned = await ssh(lab, host(a), 'true', { knownHosts: `${dir}/old` });
    expect(pinned.code).toBe(255);
    expect(pinned.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect((await ssh(lab, host(a), 'true')).code).toBe(0);
    const scanned = execFileSync('sh', [
      '-c',
      `ssh-keyscan -t ed25519 ${host(a).ip} 2>/dev/null | ssh-keygen -lf -`,
    ]);
    expect(scanned.toString()).toContain(after);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('system hosts', () => {
  it('run systemd: systemctl enable --now works, and the unit stays on its host', async () => {
    const unit =
      '[Unit]\nDescription=lab test\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';
    const h = host('s001');
    const r = await ssh(
      lab,
      h,
      `printf '%s' '${unit}' >/tmp/t.service && sudo -S -p '' sh -c 'cp /tmp/t.service /etc/systemd/system/t-hosts.service && systemctl daemon-reload && systemctl enable --now t-hosts.service && systemctl is-active t-hosts.service'`,
      { user: h.sudoUser, input: `${h.sudoPassword}\n` },
    );
    expect(r.stdout.trim().split('\n').at(-1), r.stderr).toBe('active');
    expect(
      (await hostExec(lab, 's002', ['systemctl', 'is-active', 't-hosts.service'])).stdout.trim(),
    ).not.toBe('active');
    expect(existsSync('/etc/systemd/system/t-hosts.service')).toBe(false);
  });

  it("keep their nspawn supervisors free of other labs' namespace mounts", () => {
    const supervisors = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`--machine=klab.${ID}.`);
        } catch {
          return false;
        }
      });
    expect(supervisors.length).toBeGreaterThanOrEqual(3);
    for (const p of supervisors) {
      const nsfs = readFileSync(`/proc/${p}/mountinfo`, 'utf8')
        .split('\n')
        .filter((l) => l.includes(' nsfs '));
      expect(nsfs.length).toBeLessThanOrEqual(1);
      for (const l of nsfs) expect(l).toContain(`${lab.dir}/hosts/`);
    }
  });

  it('carry etcd, haproxy and node, with the packaged services not enabled', async () => {
    const r = await hostExec(lab, 's002', [
      'sh',
      '-c',
      'command -v etcd etcdctl haproxy openssl node >/dev/null && systemctl is-enabled etcd haproxy; true',
    ]);
    expect(r.stdout.trim().split('\n')).toEqual(['disabled', 'disabled']);
  });
});

describe('lab lifecycle', () => {
  it('up on an existing lab of the same shape is a no-op; another shape is refused', async () => {
    const again = await labUp(SHAPE);
    expect(again.hosts.map((h) => h.pid)).toEqual(lab.hosts.map((h) => h.pid));
    await expect(labUp({ id: ID, light: 1 })).rejects.toThrow(/already up/);
  });

  it('status --json prints every host with its credentials', () => {
    const out = execFileSync('npx', ['tsx', 'lab/cli.ts', 'status', '--id', ID, '--json']).toString();
    const json = JSON.parse(out) as Lab;
    expect(json.hosts).toHaveLength(6);
    for (const h of json.hosts) {
      for (const k of [
        'name',
        'kind',
        'ip',
        'rootPassword',
        'keyPath',
        'sudoUser',
        'sudoPassword',
        'sshPort',
        'hostKeyFingerprint',
      ]) {
        expect(h).toHaveProperty(k);
      }
    }
  });

  it('exec and fault work from the command line', async () => {
    const cli = (...args: string[]) =>
      execFileSync('npx', ['tsx', 'lab/cli.ts', args[0] ?? '', '--id', ID, ...args.slice(1)]).toString();
    expect(cli('exec', 's002', '--', 'hostname')).toBe('s002\n');
    cli('fault', 'l002', 'down');
    expect((await ssh(lab, host('l002'), 'true', { connectTimeout: 2 })).code).toBe(255);
    cli('fault', 'l002', 'up');
    expect((await ssh(lab, host('l002'), 'true')).code).toBe(0);
  });

  it('down leaves no namespace, mount, bridge, process or state behind; down again is a no-op', async () => {
    const pids = lab.hosts.map((h) => h.pid);
    await labDown(ID);
    await labDown(ID);
    expect(await labStatus(ID)).toBeUndefined();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(`klab.${ID}`);
    expect(existsSync(`/sys/class/net/${lab.iface}`)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(lab.dir);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`klab.${ID}`);
    for (const pid of pids) {
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      expect(stat === '' || / Z /.test(stat)).toBe(true);
    }
    expect(existsSync(lab.dir)).toBe(false);
    // Restored on the last down of a lab with system hosts; another engineer's lab may still hold it up.
    const others = readdirSync('/srv/kubeon-lab').filter((d) => {
      const f = `/srv/kubeon-lab/${d}/lab.json`;
      return existsSync(f) && (JSON.parse(readFileSync(f, 'utf8')).shape?.system ?? 0) > 0;
    });
    const now = Number(readFileSync(INOTIFY, 'utf8'));
    if (others.length === 0) {
      expect(existsSync('/srv/kubeon-lab/inotify.orig')).toBe(false);
      expect(now).toBe(Math.min(Number(inotifyBefore), now));
    } else {
      expect(now).toBeGreaterThanOrEqual(8192);
    }
  });
});
