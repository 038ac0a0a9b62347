import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOT_SCRIPT_PATH, renderBootScript, renderBootUnit } from '../../src/ha/updater/boot.js';
import { expectGolden } from './golden.js';

const run = promisify(execFile);

const BOOT_INPUT = {
  cluster: 'prod',
  endpoint: 'apiserver.cluster.local',
  serviceIp: '10.96.0.2',
  masters: ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
  port: 6443,
};

describe('apiserver-updater boot script and unit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubeon-boot-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders the script (golden), which passes bash -n and shellcheck', async () => {
    const text = renderBootScript(BOOT_INPUT);
    expectGolden('apiserver-startup.sh', text);
    const file = join(dir, 'apiserver-startup.sh');
    await writeFile(file, text);
    await run('bash', ['-n', file]);
    const check = await run('shellcheck', ['--severity=style', '--shell=bash', file]).catch((e) => e);
    expect(check.stdout ?? '').toBe('');
  });

  it('quotes every input: a hostile value stays one word', () => {
    const text = renderBootScript({
      ...BOOT_INPUT,
      cluster: "x'; rm -rf /; '",
      masters: ['10.0.0.11', '$(id)'],
    });
    expect(text).toContain("MASTERS=(10.0.0.11 '$(id)')");
    expect(text).toContain(`BEGIN='# BEGIN kubeon x'\\''; rm -rf /; '\\'''`);
  });

  it('renders the unit (golden): a oneshot before kubelet.service that systemd-analyze accepts', async () => {
    const unit = renderBootUnit();
    expectGolden('kubeon-apiserver-startup.service', unit);
    expect(unit).toMatch(/^Before=kubelet\.service$/m);
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^RemainAfterExit=yes$/m);
    expect(unit).not.toMatch(/kubelet\.target|forking/);
    // verify insists that ExecStart exists; the machine has no /opt/kubeon, so point it at a stand-in
    // file here (the lab test verifies the exact unit on a worker where the script is installed).
    const script = join(dir, 'startup.sh');
    await writeFile(script, '#!/bin/sh\n');
    await chmod(script, 0o755);
    const file = join(dir, 'kubeon-apiserver-startup.service');
    await writeFile(file, unit.replaceAll(BOOT_SCRIPT_PATH, script));
    const verified = await run('systemd-analyze', ['verify', file]).catch((e) => e);
    expect(`${verified.stdout ?? ''}${verified.stderr ?? ''}`).toBe('');
  });
});
