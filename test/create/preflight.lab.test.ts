import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, fileList, NET_FLAGS } from './support.js';

/**
 * Bad input and unfit nodes fail in preflight, every problem listed at once, nothing changed on any
 * node: duplicate IPs and a missing key file exit 2; an unreachable node, a wrong password and a
 * machine without systemd exit 1.
 */

const ID = testLabId('t-create-pre');
const VERSION = 'v1.31.14';
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, light: 3 }), createLab(VERSION)]);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

const snapshot = () => Promise.all(lab.hosts.map((h) => fileList(lab, h.name)));

describe('preflight', () => {
  it('refuses bad input and unfit nodes before changing anything', async () => {
    const [a, b, c] = lab.hosts;
    const before = await snapshot();
    const base = ['--mirror', k.mirror.url, ...NET_FLAGS];

    const dup = await k.cli(
      'create',
      'dup',
      VERSION,
      '-m',
      a!.ip,
      '-w',
      a!.ip,
      '--default-pk-file',
      a!.keyPath,
      ...base,
    );
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain(`duplicate IP ${a!.ip}`);

    const key = await k.cli(
      'create',
      'nokey',
      VERSION,
      '-m',
      a!.ip,
      '--default-pk-file',
      '/nonexistent/id_ed25519',
      ...base,
    );
    expect(key.code).toBe(2);
    expect(key.stderr).toContain('key file /nonexistent/id_ed25519 does not exist');
    expect(key.stderr).toContain('nothing was changed');
    // The spec of a first attempt is kept so it can be continued; its nodes stay claimed until it is
    // forgotten, as a user would do before reusing them for another cluster.
    expect((await k.cli('forget', 'nokey', '--yes')).code).toBe(0);

    await fault(lab, c!.name, 'down');
    try {
      const r = await k.cli(
        'create',
        'unfit',
        VERSION,
        '-m',
        a!.ip,
        '-w',
        b!.ip,
        '-w',
        c!.ip,
        '--default-pk-file',
        a!.keyPath,
        '--connect-timeout',
        '3s',
        ...base,
      );
      expect(r.code, r.stderr).toBe(1);
      // Every problem of every node in one run.
      expect(r.stderr).toMatch(new RegExp(`worker@${c!.ip.replace(/\./g, '\\.')}: unreachable`));
      expect(r.stderr).toContain('systemd is not running');
      expect(r.stderr).toContain('preflight found');
    } finally {
      await fault(lab, c!.name, 'up');
    }
    expect((await k.cli('forget', 'unfit', '--yes')).code).toBe(0);

    const pw = await k.cli(
      'create',
      'badpw',
      VERSION,
      '-m',
      a!.ip,
      '--default-passwd',
      'not-the-password',
      ...base,
    );
    expect(pw.code, pw.stderr).toBe(1);
    expect(pw.stderr).toMatch(/auth/);
    expect(pw.stderr).not.toContain('not-the-password');
    expect(await snapshot()).toEqual(before);
  }, 600_000);
});
