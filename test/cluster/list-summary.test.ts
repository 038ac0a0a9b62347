import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/cluster/store.js';
import { readSummary } from '../../src/cluster/summary.js';
import { validateSpec } from '../../src/cluster/validate.js';

async function storeWithDev(): Promise<Store> {
  const store = new Store(mkdtempSync(join(tmpdir(), 'kubeon-summary-')));
  await store.writeSpec(
    validateSpec({ name: 'dev', version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec,
  );
  return store;
}

describe('the summary list shows', () => {
  it('comes from summary.json while cluster.yaml is the text it was written with', async () => {
    const store = await storeWithDev();
    const path = store.paths('dev').summary;
    const recorded = JSON.parse(readFileSync(path, 'utf8'));
    expect(recorded).toMatchObject({ version: 'v1.31.2', masters: 1, workers: 0, haMode: 'haproxy' });
    expect(recorded.specDigest).toMatch(/^[0-9a-f]{16}$/);
    // Proof that the YAML is not read: a summary.json for the same text is believed as it stands.
    writeFileSync(path, JSON.stringify({ ...recorded, workers: 5 }));
    expect(await readSummary(store, 'dev')).toMatchObject({ workers: 5, status: 'defined' });
  });

  it('comes from cluster.yaml itself once it was edited, or when summary.json is missing or damaged', async () => {
    const store = await storeWithDev();
    const { spec, summary } = store.paths('dev');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('workers: []', 'workers:\n  - ip: 192.0.2.2'));
    expect(await readSummary(store, 'dev')).toMatchObject({ masters: 1, workers: 1 });
    writeFileSync(summary, '{"specDigest": ');
    expect(await readSummary(store, 'dev')).toMatchObject({ workers: 1 });
    writeFileSync(summary, JSON.stringify({ specDigest: 'x' }));
    expect(await readSummary(store, 'dev')).toMatchObject({ workers: 1 });
  });
});
