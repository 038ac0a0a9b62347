import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { causeOf, fetchFailureError } from '../../src/artifacts/failures.js';
import { buildProgram } from '../../src/cli/program.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { kubeon } from './harness.js';

/** Issue 15: everyday ergonomics, each item through the CLI as a user types it. */

const run = promisify(execFile);

function env(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kubeon-ergo-'));
  return { HOME: home, KUBEON_HOME: join(home, '.kubeon'), NO_COLOR: '1', PATH: process.env.PATH };
}

async function store(e: NodeJS.ProcessEnv, spec: Record<string, unknown>): Promise<void> {
  await new Store(e.KUBEON_HOME!).writeSpec(validateSpec({ version: 'v1.31.2', ...spec }).spec);
}

const PROD = {
  name: 'prod',
  masters: [
    { ip: '192.0.2.11', name: 'l001' },
    { ip: '192.0.2.12', name: 'l002' },
    { ip: '192.0.2.13', name: 'l003' },
  ],
  workers: [{ ip: '192.0.2.21', name: 'l004' }],
};

function file(e: NodeJS.ProcessEnv, name: string, text: string): string {
  const path = join(e.HOME!, name);
  writeFileSync(path, text);
  return path;
}

describe('1. the current cluster is the default', () => {
  it('view config, exec @SEL, cp @SEL and certs work without the name; NAME@SEL wins', async () => {
    const e = env();
    await store(e, PROD);
    await store(e, { name: 'dev', masters: [{ ip: '198.51.100.1', name: 'd1' }] });
    const none = await kubeon(['exec', '@all', '--', 'true'], e);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no cluster is current');
    expect(none.stderr).toContain('kubeon use NAME');

    expect((await kubeon(['use', 'prod'], e)).code).toBe(0);
    const view = await kubeon(['-o', 'json', 'view', 'config'], e);
    expect(view.code).toBe(0);
    expect(JSON.parse(view.stdout).name).toBe('prod');
    // The selector is resolved against prod (4 nodes, 1 worker) before any connection is tried.
    const exec = await kubeon(['exec', '@w2', '--', 'true'], e);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toContain('the cluster has 1 worker');
    const cp = await kubeon(['cp', '@wokers', '/etc/hostname', '/tmp/'], e);
    expect(cp.code).toBe(2);
    expect(cp.stderr).toContain('did you mean workers?');
    const named = await kubeon(['exec', 'dev@l004', '--', 'true'], e);
    expect(named.stderr).toContain('no node named "l004"');
    const certs = await kubeon(['certs'], e);
    expect(certs.code).toBe(0);
    expect(certs.stderr).toContain('cluster prod has no certificates yet');
  });

  it('destroy without a name asks about the current cluster, and forgets one where nothing was installed', async () => {
    const e = env();
    await store(e, { name: 'reg', masters: [{ ip: '192.0.2.31', name: 'r1' }] });
    const none = await kubeon(['destroy', '--yes'], e);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no cluster is current');
    expect((await kubeon(['use', 'reg'], e)).code).toBe(0);
    // No terminal: the confirmation cannot be given, so nothing happens.
    const unconfirmed = await kubeon(['destroy'], e);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('destroy "reg" needs confirmation');
    expect(new Store(e.KUBEON_HOME!).exists('reg')).toBe(true);
    // Only registered: no node is contacted (192.0.2.31 is unroutable) and the cluster is forgotten.
    const done = await kubeon(['destroy', '--yes'], e);
    expect(done.code).toBe(0);
    expect(new Store(e.KUBEON_HOME!).exists('reg')).toBe(false);
  });
});

describe('2. config files first', () => {
  it('config init -> edit -> create -f, with name, version and nodes from the file', async () => {
    const e = env();
    const path = join(e.HOME!, 'cluster.yaml');
    const init = await kubeon(['config', 'init', path, '--masters', '1', '--workers', '2'], e);
    expect(init.code).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=cluster.schema.json');
    expect(existsSync(join(e.HOME!, 'cluster.schema.json'))).toBe(true);
    expect(text).toContain('# Network plugin');
    expect((await kubeon(['config', 'init', path], e)).stderr).toContain('already exists');

    writeFileSync(path, text.replace('name: demo', 'name: edge').replace('cni: calico', 'cni: cilium'));
    const r = await kubeon(['-o', 'json', 'create', '-f', path, '--dry-run', '--assume-os', 'debian-12'], e);
    expect(r.code).toBe(0);
    const { spec } = JSON.parse(r.stdout);
    expect(spec.name).toBe('edge');
    expect(spec.version).toMatch(/^v1\.\d+\.1$/);
    expect(spec.masters.map((m: { ip: string }) => m.ip)).toEqual(['192.0.2.11']);
    expect(spec.workers).toHaveLength(2);
    expect(spec.network.cni).toBe('cilium');
    expect(r.stderr).toContain('1 master, 2 workers');
    // Flags still override the file.
    const over = await kubeon(
      [
        '-o',
        'json',
        'create',
        '-f',
        path,
        '--cni',
        'none',
        '-w',
        '192.0.2.99',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    const overSpec = JSON.parse(over.stdout).spec;
    expect(overSpec.network.cni).toBe('none');
    expect(overSpec.workers.map((w: { ip: string }) => w.ip)).toEqual(['192.0.2.99']);
  });

  it('view config --export round-trips through create -f with secrets as passwordFrom', async () => {
    const e = env();
    await store(e, { ...PROD, ssh: { defaults: { password: 'topsecret' } } });
    const exp = await kubeon(['view', 'config', 'prod', '--export'], e);
    expect(exp.code).toBe(0);
    expect(exp.stdout).not.toContain('topsecret');
    expect(exp.stdout).not.toContain('***');
    expect(exp.stdout).toContain('passwordFrom: env:KUBEON_PASSWORD');
    expect(exp.stderr).toContain('set KUBEON_PASSWORD');
    const path = file(e, 'exported.yaml', exp.stdout);
    const again = await kubeon(['create', '-f', path, '--dry-run', '--assume-os', 'debian-12'], e);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      'cluster "prod" already exists with other settings (ssh.defaults.password differs)',
    );
    const clone = file(e, 'clone.yaml', exp.stdout.replace('name: prod', 'name: prod2'));
    const owned = await kubeon(['create', '-f', clone, '--dry-run', '--assume-os', 'debian-12'], e);
    expect(owned.code).toBe(2);
    expect(owned.stderr).toContain('node 192.0.2.11 already belongs to cluster "prod" (and 3 more nodes)');
    const forced = await kubeon(
      ['-o', 'json', 'create', '-f', clone, '--dry-run', '--assume-os', 'debian-12', '--force'],
      e,
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout).spec.ssh.defaults).toEqual({ passwordFrom: 'env:KUBEON_PASSWORD' });
  });

  it('explain prints type, default and description offline, with did-you-mean', async () => {
    const e = env();
    const mode = await kubeon(['explain', 'controlPlane.mode'], e);
    expect(mode.code).toBe(0);
    expect(mode.stdout).toContain('TYPE:    haproxy | updater | external');
    expect(mode.stdout).toContain('DEFAULT: haproxy');
    expect(mode.stdout).toContain('external: your LB at lbIp');
    const port = await kubeon(['-o', 'json', 'explain', 'masters.port'], e);
    expect(JSON.parse(port.stdout).type).toBe('integer from 1 to 65535');
    const typo = await kubeon(['explain', 'netwrok.cni'], e);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean network?');
  });

  it('create without a name or file says how to give one; a missing file is "no such file"', async () => {
    const e = env();
    const r = await kubeon(['create'], e);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('kubeon create -f cluster.yaml');
    const missing = await kubeon(['create', '-f', '/nonexistent/cluster.yaml'], e);
    expect(missing.stderr.trim()).toBe(
      'error: no such file: /nonexistent/cluster.yaml (fix: write one with kubeon config init, then give it with -f)',
    );
  });
});

describe('3. create --help guides; passwords once; lists and ranges', () => {
  it('groups the flags, shows the global flags and ends with examples', async () => {
    const r = await kubeon(['create', '--help'], env());
    for (const g of [
      'Nodes:',
      'SSH',
      'Control plane and HA:',
      'Network:',
      'Artifacts and mirrors:',
      'PKI:',
      'Execution:',
      'Global Options:',
    ])
      expect(r.stdout).toContain(g);
    const tail = r.stdout.trimEnd().split('\n').slice(-20).join('\n');
    expect(tail).toContain('Examples:');
    expect(tail).toContain('kubeon create -f cluster.yaml');
  });

  it('no help screen is over 40 lines without groups', async () => {
    const tree = buildProgram(
      () => {
        throw new Error('not run');
      },
      { writeOut: () => undefined, writeErr: () => undefined },
    );
    const paths: string[][] = [[]];
    const visit = (c: Command, path: string[]) => {
      for (const sub of c.commands) {
        paths.push([...path, sub.name()]);
        visit(sub, [...path, sub.name()]);
      }
    };
    visit(tree, []);
    expect(paths.length).toBeGreaterThan(20);
    for (const p of paths) {
      const r = await kubeon([...p, '--help'], env());
      const lines = r.stdout.split('\n');
      const headings = lines.filter((l) => /^[A-Z][^:]*:$/.test(l) && !l.startsWith('Usage'));
      if (lines.length > 40) expect(headings.length, `kubeon ${p.join(' ')}`).toBeGreaterThanOrEqual(3);
    }
  });

  it('--master-passwd once applies to every master; per-index lists stay', async () => {
    const r = await kubeon(
      [
        '-o',
        'json',
        'create',
        'pw',
        'v1.31.2',
        '-m',
        '192.0.2.11,192.0.2.12,192.0.2.13',
        '--master-passwd',
        'pw1',
        '--master-port',
        '22',
        '--master-port',
        '2222',
        '--master-port',
        '22',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      env(),
    );
    expect(r.code).toBe(0);
    const { spec } = JSON.parse(r.stdout);
    expect(spec.masters.map((m: { password: string; port: number }) => [m.password, m.port])).toEqual([
      ['***', 22],
      ['***', 2222],
      ['***', 22],
    ]);
    const two = await kubeon(
      [
        'create',
        'pw',
        'v1.31.2',
        '-m',
        '192.0.2.11-192.0.2.13',
        '--master-name',
        'a',
        '--master-name',
        'b',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      env(),
    );
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('2 --master-name values for 3 nodes');
  });

  it('expands address lists and ranges before any contact; 300 nodes in one flag', async () => {
    const e = env();
    const r = await kubeon(
      [
        '-o',
        'json',
        'create',
        'big',
        'v1.31.2',
        '-m',
        '192.0.2.1-192.0.2.3',
        '-w',
        '198.51.100.1-198.51.100.255,203.0.113.1-203.0.113.42',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    expect(r.code).toBe(0);
    const { spec } = JSON.parse(r.stdout);
    expect(spec.masters.map((m: { ip: string }) => m.ip)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(spec.workers).toHaveLength(297);
    expect(spec.workers.at(-1).ip).toBe('203.0.113.42');
    const backwards = await kubeon(
      ['create', 'big', 'v1.31.2', '-m', '192.0.2.9-192.0.2.1', '--dry-run', '--assume-os', 'debian-12'],
      e,
    );
    expect(backwards.stderr).toContain('-m "192.0.2.9-192.0.2.1" ends before it starts');
    const mixed = await kubeon(
      ['create', 'big', 'v1.31.2', '-m', '192.0.2.1-2001:db8::1', '--dry-run', '--assume-os', 'debian-12'],
      e,
    );
    expect(mixed.stderr).toContain('not a range of two addresses of one family');
    const huge = await kubeon(
      ['create', 'big', 'v1.31.2', '-m', '10.0.0.1-10.9.0.1', '--dry-run', '--assume-os', 'debian-12'],
      e,
    );
    expect(huge.stderr).toContain('at most 4096');
    const bad = await kubeon(
      ['create', 'big', 'v1.31.2', '-m', '192.0.2.1,192.0.2.300', '--dry-run', '--assume-os', 'debian-12'],
      e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-m 192.0.2.300');
  });
});

describe('4. one vocabulary', () => {
  it('--proxy-mode sets network.proxyMode; --proxy stays as a hidden alias', async () => {
    const e = env();
    const r = await kubeon(
      [
        '-o',
        'json',
        'create',
        'pm',
        'v1.31.2',
        '-m',
        '192.0.2.1',
        '--proxy-mode',
        'ipvs',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    expect(JSON.parse(r.stdout).spec.network.proxyMode).toBe('ipvs');
    const old = await kubeon(
      [
        '-o',
        'json',
        'create',
        'pm',
        'v1.31.2',
        '-m',
        '192.0.2.1',
        '--proxy',
        'ipvs',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    expect(JSON.parse(old.stdout).spec.network.proxyMode).toBe('ipvs');
    const help = (await kubeon(['create', '--help'], e)).stdout;
    expect(help).toContain('--proxy-mode <mode>');
    expect(help).not.toMatch(/--proxy </);
    expect(help).toContain('[network.proxyMode]');
    const choice = await kubeon(['create', 'pm', 'v1.31.2', '-m', '192.0.2.1', '--cni', 'flannel'], e);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain('--cni');
  });

  it('a flag error names the flag; a file error names the file and field and points to explain', async () => {
    const e = env();
    const flag = await kubeon(
      [
        'create',
        'v',
        'v1.31.2',
        '-m',
        '192.0.2.1',
        '--lb-port',
        '70000',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--lb-port');
    expect(flag.stderr).toContain('kubeon explain controlPlane.port');
    const cidr = await kubeon(
      [
        'create',
        'v',
        'v1.31.2',
        '-m',
        '192.0.2.1',
        '--pod-cidr',
        '10.244.0.1/16',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
    );
    expect(cidr.stderr).toContain('"10.244.0.1/16" (--pod-cidr) has host bits set');
    const path = file(
      e,
      'c.yaml',
      'name: v\nversion: v1.31.2\nmasters: [{ip: 192.0.2.1}]\ncontrolPlane: {port: 70000}\n',
    );
    const fromFile = await kubeon(['create', '-f', path, '--dry-run', '--assume-os', 'debian-12'], e);
    expect(fromFile.stderr).toContain(
      `${path}: controlPlane.port: must be a port from 1 to 65535 (got 70000)`,
    );
    expect(fromFile.stderr).toContain('kubeon explain controlPlane.port');
    expect(fromFile.stderr).not.toContain('README');
    const typo = file(
      e,
      't.yaml',
      'name: v\nversion: v1.31.2\nmasters: [{ip: 192.0.2.1, prot: 22}]\nnetwrok: {}\n',
    );
    const unknown = await kubeon(['create', '-f', typo, '--dry-run', '--assume-os', 'debian-12'], e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown field (netwrok|masters\[0\]\.prot)/);
    expect(unknown.stderr).toMatch(/did you mean (network|port)\?/);
  });
});

describe('5. no dead ends', () => {
  it('forget removes a registered cluster from this machine; an installed one needs -y', async () => {
    const e = env();
    await store(e, PROD);
    const s = new Store(e.KUBEON_HOME!);
    const now = new Date().toISOString();
    await s.writeState('prod', {
      schema: 1,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      nodes: {},
      journal: [{ phase: 'kubeadm init', status: 'done', at: now }],
    });
    await store(e, { name: 'dev', masters: [{ ip: '198.51.100.1' }] });
    expect((await kubeon(['forget', 'dev'], e)).code).toBe(0);
    expect(await s.list()).toEqual(['prod']);
    const refused = await kubeon(['forget', 'prod'], e);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('-y');
    expect(await s.list()).toEqual(['prod']);
    const typed = await kubeon(['forget', 'prod'], e, 'nope\n');
    expect(await s.list()).toEqual(['prod']);
    expect(typed.code).toBe(2);
    expect((await kubeon(['-y', 'forget', 'prod'], e)).code).toBe(0);
    expect(await s.list()).toEqual([]);
    expect((await kubeon(['forget', 'prod'], e)).stderr).toContain('unknown cluster "prod"');
  });
});

describe('6. readable failures', () => {
  it('download failures are grouped by cause, one short line each', () => {
    const dns = (name: string) => ({
      attempts: [
        {
          url: `https://dl.k8s.io/release/v1.31.2/bin/linux/amd64/${name}`,
          reason: 'ENOTFOUND: getaddrinfo ENOTFOUND dl.k8s.io',
        },
        { url: `https://github.com/x/${name}.tar.gz`, reason: 'ENOTFOUND: getaddrinfo ENOTFOUND github.com' },
      ],
    });
    const err = fetchFailureError(
      ['kubeadm', 'kubelet', 'kubectl', 'crictl', 'runc', 'cni', 'containerd'].map(dns),
      7,
    );
    expect(err.message.split('\n').filter(Boolean)).toEqual([
      '7 of 7 files could not be fetched:',
      '  cannot resolve dl.k8s.io: no network or DNS?: 7 URLs, e.g. https://dl.k8s.io/release/v1.31.2/bin/linux/amd64/kubeadm',
      '  cannot resolve github.com: no network or DNS?: 7 URLs, e.g. https://github.com/x/kubeadm.tar.gz',
    ]);
    expect(
      causeOf({ url: 'http://127.0.0.1:9/x', reason: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' }),
    ).toBe('127.0.0.1:9 refused the connection');
    expect(causeOf({ url: 'https://m.example/x', reason: 'checksum: HTTP 404' })).toBe(
      'checksum: HTTP 404 from m.example',
    );
  });

  it('view support says why LATEST is unknown and keeps latest: null in JSON', async () => {
    const e = env();
    const r = await kubeon(['-o', 'json', 'view', 'support', '--mirror', 'http://127.0.0.1:9'], e);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { latest: string | null; latestUnknown: string }[];
    expect(rows.every((x) => x.latest === null)).toBe(true);
    expect(rows[0]!.latestUnknown).toBe('127.0.0.1:9 refused the connection');
    expect(r.stderr).toMatch(/^LATEST unknown for 1\.30, .*: 127\.0\.0\.1:9 refused the connection$/m);
    const offline = await kubeon(['-o', 'json', 'view', 'support', '--offline'], e);
    expect(JSON.parse(offline.stdout)[0].latest).toBeNull();
  });

  it('a missing local file is "no such file: PATH", not ENOENT', async () => {
    const e = env();
    await store(e, { name: 'lo', masters: [{ ip: '127.0.0.1', port: 1 }] });
    const r = await kubeon(['cp', 'lo@all', '/nonexistent/payload', '/tmp/'], e);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no such file: /nonexistent/payload');
    expect(r.stderr).not.toContain('ENOENT');
  });

  it('plurals are right', async () => {
    const r = await kubeon(
      ['create', 'one', 'v1.31.2', '-m', '192.0.2.1', '--dry-run', '--assume-os', 'debian-12'],
      env(),
    );
    expect(r.stderr).toContain('(v1.31.2, 1 master, 0 workers)');
  });
});

describe('7. cp and exec say what happened', () => {
  it('a failed copy never claims 100% or verification; JSON and table use the same words', async () => {
    const e = env();
    // Loopback with no SSH login configured: the node fails without any traffic leaving the machine.
    await store(e, { name: 'lo', masters: [{ ip: '127.0.0.1', port: 1, name: 'lo1' }] });
    const src = file(e, 'payload.txt', 'hi\n');
    const table = await kubeon(['cp', 'lo@all', src, '/tmp/', '--connect-timeout', '1s'], {
      ...e,
      SSH_AUTH_SOCK: '',
    });
    expect(table.code).toBe(1);
    expect(table.stderr).not.toContain('100%');
    expect(table.stderr).not.toContain('sha256 verified on every node');
    expect(table.stdout).toMatch(/^NODE\s+IP\s+SENT\s+UNCHANGED\s+MB\s+RESULT$/m);
    expect(table.stderr).toContain('1 node: 0 ok, 0 failed, 1 unreachable');
    expect(table.stderr).not.toContain('see the log');
    const json = await kubeon(['-o', 'json', 'cp', 'lo@all', src, '/tmp/', '--connect-timeout', '1s'], {
      ...e,
      SSH_AUTH_SOCK: '',
    });
    const [row] = JSON.parse(json.stdout);
    expect(Object.keys(row)).toEqual(expect.arrayContaining(['sent', 'unchanged', 'result']));
    expect(row).not.toHaveProperty('skipped');
    const resultCell = table.stdout.split('\n')[1]!.trim().split(/\s+/).at(-1);
    expect(row.result).toBe(resultCell);
  });
});

describe('8. selectors and completion that know the cluster', () => {
  /** Completion as each shell runs it: the real script, the real shell, the words a user typed. */
  async function setup() {
    const e = env();
    await store(e, PROD);
    const scripts: Record<string, string> = {};
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await kubeon(['completion', shell], e);
      expect(r.code).toBe(0);
      scripts[shell] = file(e, `kubeon.${shell}`, r.stdout);
    }
    const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;
    const bash = async (...words: string[]) => {
      const cmd = `source ${scripts.bash}; COMP_WORDS=(kubeon ${words.map(q).join(' ')}); COMP_CWORD=${words.length}; _kubeon; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', cmd], { env: e, cwd: e.HOME })).stdout.split('\n').filter(Boolean);
    };
    // zsh's completion widgets need a terminal; compadd and _files are its output primitives, so
    // they are replaced by printers and the real _kubeon runs with the words zsh would give it.
    const zsh = async (...words: string[]) => {
      const cmd = [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a JS template
        'compadd() { local nospace=""; while [[ $1 == -* && $1 != -- ]]; do [[ $1 == -S ]] && { nospace=1; shift; }; shift; done; [[ $1 == -- ]] && shift; local w; for w in "$@"; do print -r -- "$w${nospace:+ (nospace)}"; done; }',
        '_files() { print -r -- FILES; }',
        'compdef() { :; }',
        `source ${scripts.zsh}`,
        `words=(kubeon ${words.map(q).join(' ')}); CURRENT=\${#words}`,
        '_kubeon',
      ].join('\n');
      return (await run('zsh', ['-f', '-c', cmd], { env: e, cwd: e.HOME })).stdout
        .split('\n')
        .filter(Boolean);
    };
    const fish = async (line: string) => {
      const cmd = `source ${scripts.fish}; complete -C ${q(line)}`;
      const out = (await run('fish', ['--no-config', '-c', cmd], { env: e, cwd: e.HOME })).stdout;
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]!);
    };
    return { e, bash, zsh, fish };
  }

  it('bash completes commands, flag values, versions, files, clusters and selectors', async () => {
    const { e, bash } = await setup();
    expect(await bash('cre')).toEqual(['create']);
    expect(await bash('create', '--lb-m')).toEqual(['--lb-mode']);
    expect(await bash('create', '--cni', '')).toEqual(['calico', 'cilium', 'none']);
    expect(await bash('create', '--lb-mode', 'u')).toEqual(['updater']);
    expect(await bash('create', 'prod', 'v1.3')).toContain('v1.31.');
    file(e, 'cluster.yaml', 'name: x\n');
    expect(await bash('create', '-f', 'clus')).toEqual(['cluster.yaml']);
    expect(await bash('use', 'pr')).toEqual(['prod']);
    expect(await bash('exec', 'pr')).toEqual(['prod@']);
    expect(await bash('exec', 'prod@l00')).toEqual(['prod@l001', 'prod@l002', 'prod@l003', 'prod@l004']);
    expect(await bash('exec', 'prod@cp')).toEqual(['prod@cp1', 'prod@cp2', 'prod@cp3']);
    expect(await bash('cp', 'prod@192.0.2.2')).toEqual(['prod@192.0.2.21']);
    expect(await bash('exec', 'prod@w')).toEqual(['prod@workers', 'prod@w1']);
    expect(await bash('explain', 'controlPlane.m')).toEqual(['controlPlane.mode']);
    expect(await bash('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // After `kubeon use`, a bare @ completes the current cluster's selectors.
    expect((await kubeon(['use', 'prod'], e)).code).toBe(0);
    expect(await bash('exec', '@l00')).toEqual(['@l001', '@l002', '@l003', '@l004']);
  });

  it('zsh completes the same, files through _files and prefixes without a space', async () => {
    const { zsh } = await setup();
    expect(await zsh('create', '--cni', '')).toEqual(['calico', 'cilium', 'none']);
    expect(await zsh('create', '-f', '')).toEqual(['FILES']);
    expect(await zsh('exec', 'prod@')).toEqual(
      expect.arrayContaining(['prod@cp2', 'prod@l004', 'prod@192.0.2.13']),
    );
    expect(await zsh('exec', 'pr')).toContain('prod@ (nospace)');
    expect(await zsh('create', 'prod', '')).toContain('v1.31. (nospace)');
    expect(await zsh('view', '')).toEqual(expect.arrayContaining(['config', 'support']));
  });

  it('fish completes the same', async () => {
    const { e, fish } = await setup();
    expect(await fish('kubeon create --cni ')).toEqual(['calico', 'cilium', 'none']);
    expect(await fish('kubeon create --lb-mode ')).toEqual(['external', 'haproxy', 'updater']);
    expect(await fish('kubeon exec prod@cp')).toEqual(['prod@cp1', 'prod@cp2', 'prod@cp3']);
    expect(await fish('kubeon use ')).toEqual(['prod']);
    expect(await fish('kubeon cre')).toEqual(['create']);
    file(e, 'cluster.yaml', 'name: x\n');
    expect(await fish('kubeon create -f clu')).toEqual(['cluster.yaml']);
  });
});

describe('9. --ask-pass never writes the password', () => {
  it('create stores only passwordFrom; exec --ask-pass gives the run the password again', async () => {
    const e = env();
    const created = await kubeon(
      [
        '-o',
        'json',
        'create',
        'ap',
        'v1.31.2',
        '-m',
        '127.0.0.1',
        '--ask-pass',
        '--dry-run',
        '--assume-os',
        'debian-12',
      ],
      e,
      'hunter2\n',
    );
    expect(created.code).toBe(0);
    expect(created.stdout + created.stderr).not.toContain('hunter2');
    expect(JSON.parse(created.stdout).spec.ssh.defaults).toEqual({ passwordFrom: 'env:KUBEON_PASSWORD' });
    // The stored cluster as register-only would write it: the reference, no password.
    await store(e, {
      name: 'ap',
      ...JSON.parse(created.stdout).spec,
      masters: [{ ip: '127.0.0.1', port: 1 }],
    });
    const stored = readFileSync(join(e.KUBEON_HOME!, 'clusters', 'ap', 'cluster.yaml'), 'utf8');
    expect(stored).toContain('passwordFrom: env:KUBEON_PASSWORD');
    expect(stored).not.toContain('hunter2');
    const noPass = await kubeon(['exec', 'ap@all', '--', 'true'], e);
    expect(noPass.code).toBe(2);
    expect(noPass.stderr).toContain('KUBEON_PASSWORD is not set');
    // With --ask-pass the secret resolves; the loopback port refuses, so the run fails at connect.
    const asked = await kubeon(
      ['exec', 'ap@all', '--ask-pass', '--connect-timeout', '1s', '--', 'true'],
      e,
      'hunter2\n',
    );
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain('1 node: 0 ok, 0 failed, 1 unreachable');
    expect(asked.stderr).not.toContain('hunter2');
  });
});

describe('README', () => {
  it('the cluster.yaml section shows config init -> edit -> create -f', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## cluster.yaml reference'));
    const init = section.indexOf('kubeon config init');
    const edit = section.indexOf('$EDITOR cluster.yaml');
    const create = section.indexOf('kubeon create -f cluster.yaml');
    expect(init).toBeGreaterThan(0);
    expect(edit).toBeGreaterThan(init);
    expect(create).toBeGreaterThan(edit);
  });
});
