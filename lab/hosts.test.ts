// Pure parts of the lab: keys, addresses, accounts. (Hosts themselves: hosts.lab.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { accountFiles, derivePassword, sshdConfig } from './accounts.js';
import {
  addressPlan,
  CLUSTER_CIDRS,
  checkId,
  hostIp,
  hostName,
  pickSlot,
  preferredSlot,
  slotsInCidrs,
} from './layout.js';
import { generateEd25519 } from './sshkeys.js';

describe('ed25519 keys made in-process', () => {
  it('are read by ssh-keygen, which prints the same public key and fingerprint', () => {
    const key = generateEd25519('root@l001');
    const dir = mkdtempSync(`${tmpdir()}/lab-key-`);
    writeFileSync(`${dir}/k`, key.privateKey, { mode: 0o600 });
    const pub = execFileSync('ssh-keygen', ['-y', '-f', `${dir}/k`])
      .toString()
      .trim();
    expect(pub.split(' ').slice(0, 2)).toEqual(key.publicKey.split(' ').slice(0, 2));
    const fp = execFileSync('ssh-keygen', ['-lf', `${dir}/k`]).toString();
    expect(fp).toContain(key.fingerprint);
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('differ every time', () => {
    expect(generateEd25519('a').fingerprint).not.toBe(generateEd25519('a').fingerprint);
  });
});

describe('addresses', () => {
  it('put the default lab on 10.77/16 with the machine at .0.1', () => {
    expect(addressPlan(0)).toMatchObject({
      subnet: '10.77.0.0/16',
      gatewayIp: '10.77.0.1',
      bridgeIp: '10.77.0.254',
    });
  });

  it('number light hosts 250 per /24 and system hosts at .200', () => {
    expect(hostIp(0, 'light', 1)).toBe('10.77.1.1');
    expect(hostIp(0, 'light', 250)).toBe('10.77.1.250');
    expect(hostIp(0, 'light', 251)).toBe('10.77.2.1');
    expect(hostIp(0, 'light', 1022)).toBe('10.77.5.22');
    expect(hostIp(3, 'system', 30)).toBe('10.80.200.30');
    expect(hostName('light', 7)).toBe('l007');
    expect(hostName('system', 12)).toBe('s012');
  });

  it('derive a slot from the id and probe past taken ones', () => {
    const slot = preferredSlot('t-hosts-x');
    expect(slot).toBe(preferredSlot('t-hosts-x'));
    expect(slot).toBeGreaterThan(0);
    expect(pickSlot('t-hosts-x', new Set([slot]))).toBe((slot + 1) % 64);
    expect(() => pickSlot('x', new Set(Array.from({ length: 64 }, (_, i) => i)))).toThrow(
      /no free lab subnet/,
    );
  });

  it('never put a lab inside the default service or pod CIDR, or a CIDR the test names', () => {
    const avoided = slotsInCidrs(CLUSTER_CIDRS);
    // 10.96.0.0/12 is 10.96-10.111: slots 19-34; 10.244/16 is beyond the 64 slots
    expect([...avoided].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => 19 + i));
    expect(addressPlan(18).subnet).toBe('10.95.0.0/16');
    expect(addressPlan(35).subnet).toBe('10.112.0.0/16');
    // the id "habar" once got 10.103.0.0/16, inside the service CIDR
    expect(addressPlan(pickSlot('habar', avoided)).subnet).not.toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
    expect([...slotsInCidrs(['10.80.4.0/24', '10.120.0.0/15', 'fd00::/64'])]).toEqual([3, 43, 44]);
    expect(() => slotsInCidrs(['10.300.0.0/16'])).toThrow(/not an IPv4 CIDR/);
    expect(() => slotsInCidrs(['pods'])).toThrow(/not a CIDR/);
  });

  it('reject ids that could collide in namespace names', () => {
    expect(() => checkId('a.b')).toThrow(/invalid/);
    expect(() => checkId('A')).toThrow(/invalid/);
    expect(checkId('t-hosts-1')).toBe('t-hosts-1');
  });
});

describe('accounts', () => {
  const base = {
    passwd: 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\n',
    group: 'root:x:0:\nsudo:x:27:\nuser:x:1000:\n',
    shadow: 'root:*:19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n',
    gshadow: 'root:*::\nsudo:*::\nuser:!::\n',
  };

  it('set root password, add kubeon to sudo with a free uid', () => {
    const a = accountFiles(base, '$6$r', '$6$u');
    expect(a.uid).toBe(1001);
    expect(a.passwd).toContain('kubeon:x:1001:1001:');
    expect(a.group).toContain('sudo:x:27:kubeon');
    expect(a.gshadow).toContain('sudo:*::kubeon');
    expect(a.shadow).toContain('root:$6$r:');
    expect(a.shadow).toContain('kubeon:$6$u:');
    expect(a.shadow).toContain('user:!:');
  });

  it('are idempotent over a base that already has kubeon', () => {
    const once = accountFiles(base, '$6$r', '$6$u');
    const twice = accountFiles(once, '$6$r', '$6$u');
    expect(twice.passwd).toBe(once.passwd);
    expect(twice.group).toBe(once.group);
  });

  it('derive per-host passwords from the lab seed', () => {
    const seed = Buffer.alloc(32, 1);
    expect(derivePassword(seed, 'l001', 'root')).toBe(derivePassword(seed, 'l001', 'root'));
    expect(derivePassword(seed, 'l001', 'root')).not.toBe(derivePassword(seed, 'l002', 'root'));
    expect(derivePassword(seed, 'l001', 'root')).not.toBe(
      derivePassword(Buffer.alloc(32, 2), 'l001', 'root'),
    );
  });

  it('keep sshd at OpenSSH defaults for MaxStartups and MaxSessions', () => {
    expect(sshdConfig(true)).toContain('PermitRootLogin yes');
    expect(sshdConfig(false)).toContain('PermitRootLogin no');
    expect(sshdConfig(true)).not.toMatch(/MaxStartups|MaxSessions|Include/);
  });
});
