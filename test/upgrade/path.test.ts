import { describe, expect, it } from 'vitest';
import type { KubeonError } from '../../src/core/errors.js';
import { upgradeStep, workerBatch } from '../../src/phases/upgrade/path.js';
import {
  drainScript,
  kubeadmUpgradeScript,
  parseNodeTable,
  uncordonScript,
} from '../../src/phases/upgrade/scripts.js';

function refusal(f: () => unknown): KubeonError {
  try {
    f();
  } catch (err) {
    return err as KubeonError;
  }
  throw new Error('not refused');
}

describe('upgradeStep', () => {
  it('takes the next minor and says what moves with it', () => {
    const s = upgradeStep('prod', 'v1.30.14', 'v1.31.14')!;
    expect(s.from.version).toBe('v1.30.14');
    expect(s.to.version).toBe('v1.31.14');
    // 1.30 -> 1.31: crictl and calico move, containerd and haproxy stay.
    expect(s).toMatchObject({ runtime: true, cni: true, haproxy: false });
    expect(upgradeStep('prod', 'v1.33.2', 'v1.34.1')!.runtime).toBe(true);
  });

  it('takes a newer patch of the same minor, and nothing for the same version', () => {
    expect(upgradeStep('prod', 'v1.31.2', 'v1.31.14')!.runtime).toBe(false);
    expect(upgradeStep('prod', 'v1.31.14', 'v1.31.14')).toBeUndefined();
  });

  it('refuses a skipped minor with the path to take', () => {
    const e = refusal(() => upgradeStep('prod', 'v1.30.14', 'v1.33.1'));
    expect(e.message).toBe(
      'cluster "prod" runs v1.30.14; v1.33.1 skips 2 minor(s), and kubeadm upgrades one minor at a time',
    );
    expect(e.hint).toContain('upgrade through 1.31 then 1.32 then 1.33');
    expect(e.hint).toContain('kubeon upgrade prod v1.31.N, then kubeon upgrade prod v1.32.N');
    expect(e.exitCode).toBe(2);
  });

  it('refuses a downgrade, also within a minor', () => {
    expect(refusal(() => upgradeStep('prod', 'v1.31.14', 'v1.30.14')).message).toContain('downgrade');
    expect(refusal(() => upgradeStep('prod', 'v1.31.14', 'v1.31.2')).message).toContain('downgrade');
  });

  it('refuses a .0 target unless allowed, and a minor outside the catalog', () => {
    expect(refusal(() => upgradeStep('prod', 'v1.30.14', 'v1.31.0')).message).toContain('.0 release');
    expect(upgradeStep('prod', 'v1.30.14', 'v1.31.0', { allowDotZero: true })!.to.version).toBe('v1.31.0');
    expect(refusal(() => upgradeStep('prod', 'v1.37.1', 'v1.38.1')).message).toContain('not in the catalog');
  });
});

describe('workerBatch', () => {
  it('is a tenth of the workers, at least one, unless given', () => {
    expect(workerBatch(0)).toBe(1);
    expect(workerBatch(2)).toBe(1);
    expect(workerBatch(20)).toBe(2);
    expect(workerBatch(21)).toBe(3);
    expect(workerBatch(20, 7)).toBe(7);
  });
});

describe('upgrade scripts', () => {
  it('never lets kubeadm renew certificates', () => {
    expect(kubeadmUpgradeScript(true, 'v1.31.14').text).toBe(
      'exec </dev/null\nkubeadm upgrade apply v1.31.14 --yes --certificate-renewal=false\n',
    );
    expect(kubeadmUpgradeScript(false, 'v1.31.14').text).toContain(
      'kubeadm upgrade node --certificate-renewal=false',
    );
  });

  it('drains and uncordons through the API with every name quoted', () => {
    expect(drainScript(['w1', "w'2"], 300).text).toBe(
      [
        'exec </dev/null',
        "for n in w1 'w'\\''2'; do",
        '  kubectl --kubeconfig /etc/kubernetes/admin.conf drain "$n" --ignore-daemonsets --delete-emptydir-data --timeout=300s',
        'done',
        '',
      ].join('\n'),
    );
    expect(uncordonScript(['w1', 'w2']).text).toBe(
      'exec </dev/null\nkubectl --kubeconfig /etc/kubernetes/admin.conf uncordon w1 w2\n',
    );
  });

  it('reads Ready, cordoned and version from the node table', () => {
    const rows = parseNodeTable(
      [
        'NAME   STATUS                     ROLES           AGE   VERSION',
        'm1     Ready                      control-plane   5m    v1.31.14',
        'w1     Ready,SchedulingDisabled   worker          4m    v1.30.14',
        'w2     NotReady                   worker          4m    v1.30.14',
        '',
      ].join('\n'),
    );
    expect([...rows.values()]).toEqual([
      { name: 'm1', ready: true, schedulable: true, version: 'v1.31.14' },
      { name: 'w1', ready: true, schedulable: false, version: 'v1.30.14' },
      { name: 'w2', ready: false, schedulable: true, version: 'v1.30.14' },
    ]);
  });
});
