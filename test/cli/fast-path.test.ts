import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { renderHelpPages } from '../../src/cli/help-render.js';
import { newState } from '../../src/cluster/state.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { fastKubeon, kubeon } from './harness.js';

// The fast path (src/cli/fast-path.ts) must answer exactly as the command tree does, or decline.

const pages = renderHelpPages();

/** A home with clusters in every state list and use meet; each case runs on its own copy. */
async function populate(home: string): Promise<void> {
  const store = new Store(join(home, '.kubeon'));
  const spec = (name: string, extra: object = {}) =>
    validateSpec({ name, version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }], ...extra }).spec;
  await store.writeSpec(spec('dev'));
  await store.writeState('dev', newState(new Date(0)));
  await store.writeSpec(spec('prod', { workers: [{ ip: '192.0.2.2' }, { ip: '192.0.2.3' }] }));
  writeFileSync(
    store.paths('prod').kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://192.0.2.1:6443' } }],
      users: [{ name: 'u', user: { 'client-key-data': 'S0VZ' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  // Edited by hand after kubeon wrote it: summary.json no longer describes it.
  await store.writeSpec(spec('edited'));
  const edited = store.paths('edited').spec;
  writeFileSync(edited, readFileSync(edited, 'utf8').replace('workers: []', 'workers:\n  - ip: 192.0.2.7'));
  await store.writeSpec(spec('broken'));
  writeFileSync(store.paths('broken').spec, 'version: [unclosed\n');
  await store.setCurrent('prod');
  mkdirSync(join(home, '.kube'));
  writeFileSync(
    join(home, '.kube', 'config'),
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'mine', cluster: {} }],
      users: [{ name: 'me', user: {} }],
      contexts: [{ name: 'mine', context: { cluster: 'mine', user: 'me' } }],
      'current-context': 'mine',
    }),
  );
}

const empty = mkdtempSync(join(tmpdir(), 'kubeon-fast-tpl-'));
const full = mkdtempSync(join(tmpdir(), 'kubeon-fast-tpl-'));
beforeAll(() => populate(full));

function copyOf(tpl: string): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kubeon-fast-'));
  cpSync(tpl, home, { recursive: true });
  return { HOME: home, KUBEON_HOME: join(home, '.kubeon'), NO_COLOR: '1', PATH: process.env.PATH };
}

/** What a run leaves behind that the user sees: output, code and the files use writes. */
function outcome(r: { code: number | undefined; stdout: string; stderr: string }, e: NodeJS.ProcessEnv) {
  const home = e.HOME!;
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
  const norm = (s: string | undefined) => s?.replaceAll(home, '<home>');
  return {
    code: r.code,
    stdout: norm(r.stdout),
    stderr: norm(r.stderr),
    kubeconfig: read(join(home, '.kube', 'config')),
    current: read(join(home, '.kubeon', 'current')),
  };
}

async function both(tpl: string, argv: (home: string) => string[]) {
  const [a, b] = [copyOf(tpl), copyOf(tpl)];
  const fast = outcome(await fastKubeon(argv(a.HOME!), a, pages), a);
  const slow = outcome(await kubeon(argv(b.HOME!), b), b);
  return { fast, slow };
}

describe('fast path', () => {
  it('prints, for every command path and every form of asking, the help commander prints', async () => {
    const forms: string[][] = [['help']];
    for (const key of Object.keys(pages)) {
      const path = key ? key.split(' ') : [];
      forms.push([...path, '--help'], [...path, '-h']);
      if (path.length === 1) forms.push(['help', path[0]!]);
    }
    expect(forms.length).toBeGreaterThan(60);
    for (const argv of forms) {
      const { fast, slow } = await both(empty, () => argv);
      expect(fast.code, argv.join(' ')).toBe(0);
      expect(fast, argv.join(' ')).toEqual(slow);
    }
  });

  it('lists, tells the version and switches clusters exactly as the command tree does', async () => {
    const cases: ((home: string) => string[])[] = [
      () => ['list'],
      () => ['ls'],
      () => ['-o', 'json', 'list'],
      () => ['list', '-o', 'yaml'],
      () => ['--output=json', 'ls'],
      (home) => ['--home', join(home, '.kubeon'), 'list'],
      (home) => [`--home=${join(home, '.kube', 'config')}`, 'list'],
      () => ['version'],
      () => ['ver'],
      () => ['-o', 'json', 'version'],
      () => ['--version'],
      () => ['use', 'dev'],
      () => ['use', 'prod'],
      () => ['use', 'edited', '-o', 'json'],
      () => ['use', 'ghost'],
      () => ['use', 'Not_A_Name'],
    ];
    for (const tpl of [empty, full]) {
      for (const argv of cases) {
        const { fast, slow } = await both(tpl, argv);
        const what = `${argv('<home>').join(' ')} (${tpl === empty ? 'no clusters' : 'clusters'})`;
        expect(fast.code, what).toBeTypeOf('number');
        expect(fast, what).toEqual(slow);
      }
    }
    // The cases above did real work: the damaged and edited clusters and the merge are in them.
    const { fast } = await both(full, () => ['list']);
    expect(fast.stdout).toMatch(/^\*\s+prod\s+v1\.31\.2\s+1\s+2\s+haproxy\s+defined$/m);
    expect(fast.stdout).toMatch(/^\s+edited\s+v1\.31\.2\s+1\s+1\s/m);
    expect(fast.stdout).toMatch(/^\s+broken\s+-\s+0\s+0\s+-\s+broken$/m);
    expect(fast.stderr).toContain('cluster.yaml');
    const used = await both(full, () => ['use', 'prod']);
    expect(used.fast.kubeconfig).toContain('current-context: kubeon-prod');
    expect(used.fast.kubeconfig).toContain('name: mine');
  });

  it('declines anything else, printing nothing, so the command tree answers it', async () => {
    const declined = [
      [],
      ['list', '--bogus'],
      ['list', 'extra'],
      ['-v', 'list'],
      ['--debug', 'list'],
      ['-y', 'version'],
      ['--', 'list'],
      ['use'],
      ['use', 'a', 'b'],
      ['-o', 'xml', 'list'],
      ['-ojson', 'list'],
      ['-o', 'json', '-o', 'table', 'list'],
      ['--home', 'list'],
      ['--home=', 'list'],
      ['--home', '-v', 'list'],
      ['create'],
      ['help', 'etcd', 'members'],
      ['nosuch', '--help'],
      ['list', '--help', 'x'],
      ['--version', 'list'],
    ];
    for (const argv of declined) {
      const e = copyOf(full);
      const r = await fastKubeon(argv, e, pages);
      expect(r, argv.join(' ')).toEqual({ code: undefined, stdout: '', stderr: '' });
    }
    // Run from source there are no pre-rendered pages: help goes to commander.
    expect((await fastKubeon(['--help'], copyOf(empty), undefined)).code).toBeUndefined();
  });
});
