import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { kubeon } from '../cli/harness.js';

// Nodes in a documentation range: every case below must fail before any connection is tried, and
// the fast exit (well under the connect timeout) shows none was.
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'kubeon-fleet-cli-'));
  env = { KUBEON_HOME: home, HOME: home, NO_COLOR: '1' };
  const { spec } = validateSpec({
    name: 'doc',
    version: 'v1.31.2',
    masters: [{ ip: '192.0.2.10', name: 'm1' }],
    workers: [{ ip: '192.0.2.20', name: 'w1' }],
  });
  await new Store(home).writeSpec(spec);
});

async function fails(argv: string[], code: number, text: RegExp | string) {
  const started = Date.now();
  const r = await kubeon(argv, env);
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(text);
  expect(Date.now() - started).toBeLessThan(3000);
}

describe('exec and cp input errors (exit 2, nothing contacted)', () => {
  it('rejects an unknown cluster, a bad selector and a missing node', async () => {
    await fails(['exec', 'nope@all', '--', 'true'], 2, /unknown cluster "nope".*known clusters: doc/);
    await fails(['exec', 'doc@bogus', '--', 'true'], 2, /no node named "bogus" and no such selector/);
    await fails(['exec', 'doc@name=m9', '--', 'true'], 2, /no node named "m9"/);
    await fails(['cp', 'doc@ip=192.0.2.99', '/etc/hostname', '/tmp/x'], 2, /no node with IP 192\.0\.2\.99/);
  });

  it('rejects bad flag values and a missing command', async () => {
    await fails(['exec', 'doc@all', '--concurrency', '0', '--', 'true'], 2, /--concurrency "0"/);
    await fails(
      ['exec', 'doc@all', '--timeout', 'soon', '--', 'true'],
      2,
      /--timeout "soon" is not a duration/,
    );
    await fails(['exec', 'doc@all'], 2, /missing required argument|no command/);
    await fails(['cp', 'doc@all', '/etc/hostname', '/tmp/x', '--mode', 'rwx'], 2, /--mode "rwx"/);
  });
});
