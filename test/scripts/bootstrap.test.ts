import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'bootstrap.sh');

/** Runs bootstrap.sh with apt and friends replaced by stubs that record what the install saw. */
function bootstrap(opts: { policyBefore?: string; installFails?: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'kubeon-bootstrap-'));
  const policy = join(dir, 'policy-rc.d');
  const seen = join(dir, 'seen');
  if (opts.policyBefore !== undefined) writeFileSync(policy, opts.policyBefore);
  const stub = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  stub('dpkg-query', 'exit 1');
  stub('id', 'echo 0');
  stub('npm', 'exit 0');
  stub(
    'apt-get',
    `case "$*" in *install*) if [ -e "${policy}" ]; then cat "${policy}" > "${seen}"; fi; ${opts.installFails ? 'exit 100' : 'exit 0'};; esac`,
  );
  const r = spawnSync('bash', [SCRIPT], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, KUBEON_POLICY_RC_D: policy },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    during: existsSync(seen) ? readFileSync(seen, 'utf8') : undefined,
    after: existsSync(policy) ? readFileSync(policy, 'utf8') : undefined,
  };
}

describe('bootstrap.sh policy-rc.d', () => {
  it('holds services back during the install and removes the policy it created', () => {
    const r = bootstrap({});
    expect(r.status).toBe(0);
    expect(r.during).toContain('exit 101');
    expect(r.after).toBeUndefined();
  });
  it('removes it even when the install fails', () => {
    const r = bootstrap({ installFails: true });
    expect(r.status).not.toBe(0);
    expect(r.during).toContain('exit 101');
    expect(r.after).toBeUndefined();
  });
  it("keeps a policy-rc.d that was there before (the user's own)", () => {
    const r = bootstrap({ policyBefore: '#!/bin/sh\nexit 0\n' });
    expect(r.status).toBe(0);
    expect(r.after).toBe('#!/bin/sh\nexit 0\n');
  });
});
