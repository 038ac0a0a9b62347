import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEd25519 } from '../../lab/sshkeys.js';
import { KeyCache, planAuth } from '../../src/fleet/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeon-auth-'));
const plain = join(dir, 'plain');
writeFileSync(plain, generateEd25519('t').privateKey, { mode: 0o600 });
const locked = join(dir, 'locked');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-f', locked]);

const labels = async (c: Parameters<typeof planAuth>[0], env: NodeJS.ProcessEnv) =>
  (await planAuth(c, 'n1', { env, keys: new KeyCache() })).methods.map((m) => m.label);

describe('planAuth', () => {
  it('tries configured methods before the agent, so an agent full of keys cannot use up MaxAuthTries', async () => {
    expect(
      await labels(
        { user: 'root', privateKeyFile: plain, password: 'pw' },
        { SSH_AUTH_SOCK: '/run/agent', HOME: dir },
      ),
    ).toEqual([`publickey ${plain}`, 'password', 'keyboard-interactive', 'agent']);
  });

  it('falls back to the default keys only when nothing is configured', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'id_ed25519'), generateEd25519('d').privateKey, { mode: 0o600 });
    expect(await labels({ user: 'root' }, { HOME: home })).toEqual([`publickey ${home}/.ssh/id_ed25519`]);
    expect(await labels({ user: 'root', password: 'pw' }, { HOME: home })).toEqual([
      'password',
      'keyboard-interactive',
    ]);
  });

  it('decrypts a key with its passphrase and names the problem otherwise', async () => {
    expect(
      await labels({ user: 'root', privateKeyFile: locked, privateKeyPassphrase: 'open sesame' }, {}),
    ).toEqual([`publickey ${locked}`]);
    await expect(labels({ user: 'root', privateKeyFile: locked }, {})).rejects.toThrow(
      /encrypted and no passphrase was given \(n1\)/,
    );
    await expect(
      labels({ user: 'root', privateKeyFile: locked, privateKeyPassphrase: 'nope' }, {}),
    ).rejects.toThrow(/wrong passphrase/);
    await expect(labels({ user: 'root', privateKeyFile: join(dir, 'missing') }, {})).rejects.toThrow(
      /does not exist/,
    );
  });

  it('says so when there is no way to log in at all', async () => {
    await expect(labels({ user: 'ops' }, { HOME: join(dir, 'empty') })).rejects.toThrow(
      /no way to log in to n1 as ops/,
    );
  });
});
