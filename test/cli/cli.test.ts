import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { COMMANDS, kubeon } from './harness.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

function env(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kubeon-cli-'));
  return { HOME: home, KUBEON_HOME: join(home, '.kubeon'), NO_COLOR: '1', PATH: process.env.PATH };
}

describe('kubeon CLI', () => {
  it('--help lists every command', async () => {
    const r = await kubeon(['--help'], env());
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('every command has --help', async () => {
    for (const c of COMMANDS) {
      const r = await kubeon([c, '--help'], env());
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: kubeon ${c}`);
    }
  });

  it('rejects a duplicate IP with exit 2, naming it, no stack trace', async () => {
    const e = env();
    const r = await kubeon(['create', 't1', 'v1.31.2', '-m', '127.0.0.11', '-m', '127.0.0.11'], e);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('127.0.0.11');
    expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
    expect(await new Store(e.KUBEON_HOME!).list()).toEqual([]);
  });

  it('rejects a bad cluster name naming the rule', async () => {
    const r = await kubeon(['create', 'BAD_NAME', 'v1.31.2', '-m', '127.0.0.11'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DNS-1123');
    expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
  });

  it('--debug adds the stack trace', async () => {
    const r = await kubeon(['--debug', 'create', 'BAD_NAME', 'v1.31.2', '-m', '127.0.0.11'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\s+at .+:\d+:\d+/);
  });

  it('unknown flags and bad output formats are bad input (exit 2)', async () => {
    expect((await kubeon(['create', 't1', 'v1.31.2', '-m', '127.0.0.11', '--bogus'], env())).code).toBe(2);
    expect((await kubeon(['-o', 'xml', 'list'], env())).code).toBe(2);
  });

  it('an unknown cluster is exit 2 on other commands', async () => {
    const r = await kubeon(['use', 'ghost'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown cluster "ghost"');
    const u = await kubeon(['upgrade', 'ghost', 'v1.32.1'], env());
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown cluster "ghost"');
  });

  it('create --dry-run validates, plans and stores nothing', async () => {
    const e = env();
    const r = await kubeon(
      [
        '-o',
        'json',
        'create',
        'lab',
        '1.31.2',
        '-m',
        '127.0.0.11',
        '-w',
        '127.0.0.21',
        '--dry-run',
        '--assume-os',
        'ubuntu-22.04',
        '--default-passwd',
        'pw1',
      ],
      e,
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.spec.version).toBe('v1.31.2');
    expect(out.spec.ssh.defaults.password).toBe('***');
    expect(out.plan.map((p: { phase: string }) => p.phase)).toContain('init');
    expect(await new Store(e.KUBEON_HOME!).list()).toEqual([]);
  });

  it('create checks the version against the catalog', async () => {
    const old = await kubeon(
      ['create', 'v1', 'v1.19.3', '-m', '192.0.2.1', '--dry-run', '--assume-os', 'ubuntu-22.04'],
      env(),
    );
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('1.19');
    const dotZero = await kubeon(
      ['create', 'v1', 'v1.31.0', '-m', '192.0.2.1', '--dry-run', '--assume-os', 'ubuntu-22.04'],
      env(),
    );
    expect(dotZero.code).toBe(2);
    expect(dotZero.stderr).toContain('--allow-dot-zero');
    const allowed = await kubeon(
      [
        'create',
        'v1',
        'v1.31.0',
        '-m',
        '192.0.2.1',
        '--dry-run',
        '--allow-dot-zero',
        '--assume-os',
        'debian-12',
      ],
      env(),
    );
    expect(allowed.code).toBe(0);
  });

  it('create -f reads the file and flags override it', async () => {
    const e = env();
    const file = join(e.HOME!, 'cluster.yaml');
    writeFileSync(
      file,
      YAML.stringify({ version: 'v1.30.4', masters: [{ ip: '192.0.2.1' }], network: { cni: 'cilium' } }),
    );
    const r = await kubeon(
      ['-o', 'json', 'create', 'f1', '-f', file, '--cni', 'none', '--dry-run', '--assume-os', 'rocky-9'],
      e,
    );
    expect(r.code).toBe(0);
    const { spec } = JSON.parse(r.stdout);
    expect(spec.version).toBe('v1.30.4');
    expect(spec.network.cni).toBe('none');
    writeFileSync(file, 'version: v1.30.4\nmasters: [{ip: 192.0.2.1}]\nnetwrok: {}\n');
    const bad = await kubeon(['create', 'f1', '-f', file, '--dry-run'], e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('netwrok');
  });

  it('--ask-pass reads the password from stdin and never echoes it', async () => {
    const e = env();
    const r = await kubeon(
      [
        '-o',
        'json',
        'create',
        'p1',
        'v1.31.2',
        '-m',
        '192.0.2.1',
        '--ask-pass',
        '--dry-run',
        '--assume-os',
        'ubuntu-22.04',
      ],
      e,
      'hunter2\n',
    );
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
    // Item 9: the asked password is never part of the spec; only the reference is.
    expect(JSON.parse(r.stdout).spec.ssh.defaults).toEqual({ passwordFrom: 'env:KUBEON_PASSWORD' });
  });

  it('an existing cluster name on create is exit 2', async () => {
    const e = env();
    await new Store(e.KUBEON_HOME!).writeSpec(
      validateSpec({ name: 'prod', version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec,
    );
    const r = await kubeon(['create', 'prod', 'v1.31.2', '-m', '192.0.2.2'], e);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already exists');
    expect(r.stderr).toContain('masters[0].ip: "192.0.2.1" -> "192.0.2.2"');
    const flagOnly = await kubeon(['create', 'prod', '--cni', 'none'], e);
    expect(flagOnly.code).toBe(2);
    expect(flagOnly.stderr).toContain('already exists');
  });

  it('the same create run again continues the cluster it began', async () => {
    const e = env();
    const store = new Store(e.KUBEON_HOME!);
    const begun = validateSpec({ name: 'prod', version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec;
    // The first contact named the node; the command line never did.
    begun.masters[0]!.name = 'cp1';
    await store.writeSpec(begun);
    const args = ['create', 'prod', 'v1.31.2', '-m', '192.0.2.1', '--dry-run', '--assume-os', 'ubuntu-22.04'];
    const r = await kubeon(args, e);
    expect(r.stderr).not.toContain('already exists');
    expect(r.code, r.stderr).toBe(0);
    const other = await kubeon([...args, '--cni', 'none'], e);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('network.cni: "calico" -> "none"');
  });

  it('list, view config (redacted) and use (kubeconfig merge keeps other contexts)', async () => {
    const e = env();
    const store = new Store(e.KUBEON_HOME!);
    await store.writeSpec(
      validateSpec({
        name: 'prod',
        version: 'v1.31.2',
        masters: [{ ip: '192.0.2.1', password: 'topsecret' }],
        workers: [{ ip: '192.0.2.2' }],
      }).spec,
    );
    await store.writeSpec(
      validateSpec({ name: 'dev', version: 'v1.30.3', masters: [{ ip: '192.0.2.9' }] }).spec,
    );
    writeFileSync(
      store.paths('prod').kubeconfig,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: { server: 'https://192.0.2.1:6443', 'tls-server-name': 'apiserver.cluster.local' },
          },
        ],
        users: [{ name: 'u', user: { 'client-key-data': 'S0VZ' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    mkdirSync(join(e.HOME!, '.kube'));
    writeFileSync(
      join(e.HOME!, '.kube', 'config'),
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'mine', cluster: {} }],
        users: [{ name: 'me', user: {} }],
        contexts: [{ name: 'mine', context: { cluster: 'mine', user: 'me' } }],
        'current-context': 'mine',
      }),
    );

    expect((await kubeon(['use', 'prod'], e)).code).toBe(0);
    const kc = YAML.parse(readFileSync(join(e.HOME!, '.kube', 'config'), 'utf8'));
    expect(kc['current-context']).toBe('kubeon-prod');
    expect(kc.contexts.map((c: { name: string }) => c.name).sort()).toEqual(['kubeon-prod', 'mine']);
    expect(statSync(join(e.HOME!, '.kube', 'config')).mode & 0o777).toBe(0o600);

    const list = await kubeon(['-o', 'json', 'list'], e);
    expect(JSON.parse(list.stdout)).toEqual([
      {
        name: 'dev',
        version: 'v1.30.3',
        masters: 1,
        workers: 0,
        haMode: 'haproxy',
        status: 'defined',
        current: false,
      },
      {
        name: 'prod',
        version: 'v1.31.2',
        masters: 1,
        workers: 1,
        haMode: 'haproxy',
        status: 'defined',
        current: true,
      },
    ]);
    const table = await kubeon(['list'], e);
    expect(table.stdout).toMatch(/^\*\s+prod\s+v1\.31\.2\s+1\s+1\s+haproxy/m);

    const view = await kubeon(['view', 'config', 'prod'], e);
    expect(view.code).toBe(0);
    expect(view.stdout).not.toContain('topsecret');
    expect(view.stdout).toContain('password: "***"');
  });

  it('version and the JSON schema', async () => {
    const v = await kubeon(['-o', 'json', 'version'], env());
    expect(JSON.parse(v.stdout).kubeon).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('bash completion completes commands, flags and cluster names', async () => {
    const e = env();
    await new Store(e.KUBEON_HOME!).writeSpec(
      validateSpec({ name: 'prod', version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec,
    );
    const script = (await kubeon(['completion', 'bash'], e)).stdout;
    const file = join(e.HOME!, 'comp.bash');
    writeFileSync(file, script);
    const complete = async (...words: string[]) => {
      const cmd = `source ${file}; COMP_WORDS=(kubeon ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _kubeon; echo "\${COMPREPLY[*]}"`;
      return (await run('bash', ['-c', cmd], { env: { ...e } })).stdout.trim().split(/\s+/);
    };
    expect(await complete('cre')).toEqual(['create']);
    expect(await complete('create', '--lb-m')).toEqual(['--lb-mode']);
    expect(await complete('view', '')).toEqual(expect.arrayContaining(['config', 'support', 'component']));
    expect(await complete('use', 'pr')).toEqual(['prod']);
    const zsh = (await kubeon(['completion', 'zsh'], e)).stdout;
    expect(zsh).toContain('#compdef kubeon');
    expect((await kubeon(['completion', 'tcsh'], e)).code).toBe(2);
  });

  it('the real process exits 2 with one line and no stack (tsx entry)', async () => {
    const e = env();
    const err = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/main.ts'),
        'create',
        't1',
        'v1.31.2',
        '-m',
        '127.0.0.11',
        '-m',
        '127.0.0.11',
      ],
      { env: e, cwd: ROOT },
    ).catch((x) => x);
    expect(err.code).toBe(2);
    expect(err.stderr.trim()).toMatch(/^error: duplicate IP 127\.0\.0\.11/);
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
  });
});
