import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS, kubeon } from './cli/harness.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

describe('distribution', () => {
  it('bundles to dist/kubeon.js and a single executable that runs without Node on PATH', async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT });
    const bundled = await run(process.execPath, [join(ROOT, 'dist/kubeon.js'), '--help'], { cwd: ROOT });
    for (const c of COMMANDS) expect(bundled.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    // The bundle prints help rendered at build time (src/cli/fast-path.ts): it is commander's.
    const env = { HOME: mkdtempSync(join(tmpdir(), 'kubeon-dist-')), NO_COLOR: '1', PATH: process.env.PATH };
    for (const argv of [['--help'], ['create', '--help'], ['view', 'config', '-h'], ['help', 'ls']]) {
      const dist = await run(process.execPath, [join(ROOT, 'dist/kubeon.js'), ...argv], { env });
      expect(dist.stdout, argv.join(' ')).toBe((await kubeon(argv, env)).stdout);
    }

    await run('bash', ['scripts/build-sea.sh'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const home = mkdtempSync(join(tmpdir(), 'kubeon-sea-'));
    const sea = await run(join(ROOT, 'dist/kubeon-linux-x64'), ['--help'], {
      env: { PATH: '/nonexistent', HOME: home },
    });
    expect(sea.stdout).toBe(bundled.stdout);
    const bad = await run(
      join(ROOT, 'dist/kubeon-linux-x64'),
      ['create', 't1', 'v1.31.2', '-m', '127.0.0.11', '-m', '127.0.0.11'],
      {
        env: { PATH: '/nonexistent', HOME: home },
      },
    ).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('127.0.0.11');
  }, 180_000);
});
