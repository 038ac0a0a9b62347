import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { haproxyConfig, haproxyManifest } from '../../src/render/index.js';
import { inputFor } from './fixtures.js';

/**
 * The rendered haproxy.cfg run by Debian's haproxy in a private network namespace, with three
 * `openssl s_server -www` processes standing in for the masters' API servers (any GET, /readyz
 * included, answers 200 over TLS). Nothing outside the namespace is contacted.
 */

const dir = mkdtempSync(join(tmpdir(), 'kubeon-haproxy-'));

const SCRIPT = fileURLToPath(new URL('./haproxy-failover.sh', import.meta.url));

describe('haproxy.cfg under a real haproxy', () => {
  it('runs with the static pod command, proxies to the masters, answers its health endpoint and drops a dead master within seconds', () => {
    const input = inputFor('1.31', 'debian', 'w1');
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(input));
    const pod = parse(haproxyManifest(input));
    const command = (pod.spec.containers[0].command as string[]).map((a) =>
      a === '/usr/local/etc/haproxy/haproxy.cfg' ? join(dir, 'haproxy.cfg') : a,
    );
    const r = spawnSync('unshare', ['-n', 'bash', SCRIPT], {
      encoding: 'utf8',
      env: {
        ...process.env,
        DIR: dir,
        HAPROXY_COMMAND: command.join(' '),
        MASTERS: input.masters.map((m) => m.ip).join(' '),
      },
      timeout: 60_000,
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const v = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    expect(v.health).toBe('200');
    expect(v.proxied).toBe('200');
    expect(Number(v.m1_down)).toBeGreaterThan(0);
    expect(v.others_down).toBe('0');
    // inter 1s, fall 2: two failed checks a second apart.
    expect(Number(v.down_after_ms)).toBeLessThan(4000);
    expect(v.after).toBe('6/6');
    console.log(`dead master marked down after ${v.down_after_ms} ms`);
  });
});
