import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEtcdWords } from '../../src/cli/commands/etcd.js';
import { restoreMembers } from '../../src/etcd/restore.js';
import {
  etcdctlScript,
  restoreMemberScript,
  restoreProbeScript,
  startControlPlaneScript,
  stopControlPlaneScript,
} from '../../src/etcd/scripts.js';
import { expectGolden } from '../render/golden.js';

const NASTY = `a b 'q' "d" $(touch pwned) \`x\` ; | & * ~ \\ $HOME`;

describe('etcd scripts', () => {
  const members = restoreMembers([
    { name: 'm1', ip: '10.0.0.1' },
    { name: 'm2', ip: 'fd00::2' },
  ]);

  it('render as their golden files', () => {
    expectGolden('etcd/etcdctl.sh', etcdctlScript(['member', 'list', '-w', 'table']).text);
    expectGolden('etcd/restore-probe.sh', restoreProbeScript().text);
    expectGolden('etcd/stop.sh', stopControlPlaneScript(120).text);
    expectGolden(
      'etcd/restore-member.sh',
      restoreMemberScript({ member: members[1]!, members, stamp: '20261203T175137Z' }).text,
    );
    expectGolden('etcd/start.sh', startControlPlaneScript().text);
  });

  it('name each member after its node, with its peer URL on the node address', () => {
    expect(members).toEqual([
      { name: 'm1', peerUrl: 'https://10.0.0.1:2380' },
      { name: 'm2', peerUrl: 'https://[fd00::2]:2380' },
    ]);
  });

  it('hand etcdctl its arguments verbatim, never as shell', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-etcdctl-'));
    const bin = join(dir, 'bin');
    execFileSync('mkdir', [bin]);
    // A fake etcdctl that prints each argument on its own line.
    writeFileSync(join(bin, 'etcdctl'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', {
      mode: 0o755,
    });
    writeFileSync(join(dir, 's.sh'), etcdctlScript(['get', NASTY]).text);
    const out = execFileSync('bash', ['-euo', 'pipefail', join(dir, 's.sh')], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(out.split('\n').slice(-3, -1)).toEqual(['get', NASTY]);
    expect(out).toContain('--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt');
    expect(execFileSync('ls', [dir], { encoding: 'utf8' })).not.toContain('pwned');
  });
});

describe('kubeon etcd words', () => {
  it('take the name, the action and what follows', () => {
    expect(parseEtcdWords(['prod', 'members'], [])).toEqual({ name: 'prod', action: 'members', rest: [] });
    expect(parseEtcdWords(['health'], [])).toEqual({ name: undefined, action: 'health', rest: [] });
    expect(parseEtcdWords(['prod', 'snapshot', 'save', 'f.db'], [])).toEqual({
      name: 'prod',
      action: 'snapshot',
      rest: ['save', 'f.db'],
    });
  });

  it('pass everything after -- to etcdctl, flags included', () => {
    const raw = ['etcd', 'prod', '--', 'member', 'list', '-w', 'table'];
    expect(parseEtcdWords(['prod', 'member', 'list', '-w', 'table'], raw)).toEqual({
      name: 'prod',
      action: '--',
      rest: ['member', 'list', '-w', 'table'],
    });
    expect(parseEtcdWords(['member', 'list'], ['etcd', '--', 'member', 'list']).name).toBeUndefined();
  });

  it('refuse words that name no action, naming them', () => {
    expect(() => parseEtcdWords(['prod', 'backup'], [])).toThrow(/"prod backup" names no etcd action/);
    expect(() => parseEtcdWords(['prod'], ['etcd', 'prod', '--'])).toThrow(/nothing after --/);
  });
});
