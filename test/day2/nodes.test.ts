import { describe, expect, it } from 'vitest';
import { newState } from '../../src/cluster/state.js';
import { haproxyMode } from '../../src/ha/haproxy.js';
import { noneMode } from '../../src/ha/none.js';
import { ADD_STEP, pendingAdds } from '../../src/phases/add.js';
import { addPhases, createPhases } from '../../src/phases/create/index.js';
import { deleteNodeScript, drainScript } from '../../src/phases/del.js';
import { phaseIds } from '../../src/phases/runner.js';

describe('add as a selection of create phases', () => {
  it('prepares and joins the new nodes, never inits, and refreshes the existing nodes last', () => {
    const create = phaseIds(createPhases(haproxyMode));
    const add = phaseIds(addPhases(haproxyMode));
    expect(add).not.toContain('init');
    expect(add).not.toContain('cni');
    expect(add).not.toContain('kubeconfig');
    const refresh = haproxyMode.mastersChanged.map((p) => p.id);
    for (const id of add.filter((i) => !refresh.includes(i))) expect(create).toContain(id);
    // Refreshed under ids of their own: add runs the haproxy phases for the new workers too.
    for (const id of refresh) expect(create).not.toContain(id);
    expect(add.slice(-refresh.length)).toEqual(refresh);
    expect(phaseIds(addPhases(noneMode)).at(-1)).toBe('ha-none-workers');
    expect(add.indexOf('join-workers')).toBeGreaterThan(add.indexOf('join-masters'));
  });
});

describe('pendingAdds', () => {
  it('lists the addresses whose last add entry is not done', () => {
    const s = newState(new Date(0), 'running');
    const at = new Date(0).toISOString();
    s.journal.push(
      { phase: ADD_STEP, node: '10.0.0.1', status: 'failed', at },
      { phase: ADD_STEP, node: '10.0.0.2', status: 'failed', at },
      { phase: 'os', node: 'n1', status: 'done', at },
      { phase: ADD_STEP, node: '10.0.0.1', status: 'done', at },
    );
    expect(pendingAdds(s)).toEqual(['10.0.0.2']);
    expect(pendingAdds(undefined)).toEqual([]);
  });
});

describe('del scripts', () => {
  it('drain quotes the node name and passes the timeout and --force only when asked', () => {
    const plain = drainScript("n'1", 90, false).text;
    expect(plain).toContain(`n='n'\\''1'`);
    expect(plain).toContain('--timeout=90s');
    expect(plain).not.toContain(' --force');
    expect(drainScript('n1', 90, true).text).toContain(' --force');
  });

  it('delete tolerates Nodes already gone', () => {
    expect(deleteNodeScript(['a', 'b']).text).toContain('delete node --ignore-not-found a b');
  });
});
