import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newState } from '../../src/cluster/state.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { kubeon } from './harness.js';

function env(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'kubeon-damaged-'));
  return { HOME: home, KUBEON_HOME: join(home, '.kubeon'), NO_COLOR: '1', PATH: process.env.PATH };
}

async function twoClusters(e: NodeJS.ProcessEnv): Promise<Store> {
  const store = new Store(e.KUBEON_HOME!);
  for (const name of ['dev', 'prod']) {
    await store.writeSpec(validateSpec({ name, version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec);
    await store.writeState(name, newState(new Date(0)));
  }
  return store;
}

describe('a damaged store', () => {
  it('a garbled state.json names the file, what is wrong and the fix; list still lists the rest', async () => {
    const e = env();
    const store = await twoClusters(e);
    writeFileSync(store.paths('prod').state, '{"schema": 1, "status": "runn');
    const r = await kubeon(['exec', 'prod@all', '--', 'true'], e);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${store.paths('prod').state} is damaged: not valid JSON`);
    expect(r.stderr).toContain('fix: repair it, or move it aside');

    const list = await kubeon(['-o', 'json', 'list'], e);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { name: string; status: string }[];
    expect(rows.map((x) => [x.name, x.status])).toEqual([
      ['dev', 'registered'],
      ['prod', 'broken'],
    ]);
    expect(list.stderr).toContain(store.paths('prod').state);
  });

  it('state.json is checked against its schema', async () => {
    const e = env();
    const store = await twoClusters(e);
    writeFileSync(store.paths('dev').state, JSON.stringify({ ...newState(new Date(0)), status: 'sleeping' }));
    const r = await kubeon(['exec', 'dev@all', '--', 'true'], e);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/state\.json is damaged: status: Invalid option/);
  });

  it('a cluster.yaml that is not YAML names the file; list marks it broken', async () => {
    const e = env();
    const store = await twoClusters(e);
    writeFileSync(store.paths('dev').spec, 'name: dev\nmasters: [ {ip: 192.0.2.1\n');
    const r = await kubeon(['exec', 'dev@all', '--', 'true'], e);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${store.paths('dev').spec} is damaged: not valid YAML`);
    const list = await kubeon(['list'], e);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/dev .*broken/);
    expect(list.stdout).toMatch(/prod .*registered/);
  });

  it('--home pointing at a file is one line, exit 2', async () => {
    const e = env();
    const file = join(e.HOME!, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await kubeon(['--home', file, 'list'], e);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: --home ${file} is not a directory (fix: point --home (or KUBEON_HOME) at a directory)`,
    ]);
  });
});
