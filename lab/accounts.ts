import { createHmac } from 'node:crypto';
import { must } from './proc.js';

export const SUDO_USER = 'kubeon';

/** Per-host passwords derived from the lab's secret seed: stable for the lab's life, different per host. */
export function derivePassword(seed: Buffer, host: string, user: string): string {
  return createHmac('sha256', seed).update(`${host}/${user}`).digest('base64url').slice(0, 16);
}

/** SHA-512 crypt hashes, one openssl process for all passwords (they travel on stdin, never in argv). */
export async function hashPasswords(passwords: string[]): Promise<string[]> {
  if (passwords.length === 0) return [];
  const out = await must(['openssl', 'passwd', '-6', '-stdin'], { input: passwords.join('\n') + '\n' });
  const hashes = out.trim().split('\n');
  if (hashes.length !== passwords.length)
    throw new Error('openssl passwd returned the wrong number of hashes');
  return hashes;
}

export interface AccountFiles {
  passwd: string;
  group: string;
  shadow: string;
  gshadow: string;
  uid: number;
  gid: number;
}

function usedIds(table: string): Set<number> {
  return new Set(table.split('\n').map((l) => Number(l.split(':')[2])));
}

function withoutUser(table: string, user: string): string[] {
  return table.split('\n').filter((l) => l && !l.startsWith(`${user}:`));
}

function addMember(lines: string[], group: string, user: string, memberField: number): string[] {
  return lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== group) return l;
    const members = (f[memberField] ?? '').split(',').filter(Boolean);
    if (!members.includes(user)) members.push(user);
    f[memberField] = members.join(',');
    return f.join(':');
  });
}

/**
 * Account tables for one host: the base system's, with root's password set and a `kubeon` user
 * in the `sudo` group (Debian's sudoers grants %sudo everything, with a password).
 */
export function accountFiles(
  base: { passwd: string; group: string; shadow: string; gshadow: string },
  rootHash: string,
  userHash: string,
): AccountFiles {
  const passwd = withoutUser(base.passwd, SUDO_USER);
  const group = withoutUser(base.group, SUDO_USER);
  const takenUids = usedIds(passwd.join('\n'));
  const takenGids = usedIds(group.join('\n'));
  let uid = 1000;
  while (takenUids.has(uid) || takenGids.has(uid)) uid++;
  const gid = uid;
  // Days since the epoch; a fixed "last changed" in the past keeps password ageing quiet.
  const changed = 19700;
  const shadow = withoutUser(base.shadow, SUDO_USER).map((l) =>
    l.startsWith('root:') ? `root:${rootHash}:${changed}:0:99999:7:::` : l,
  );
  if (!shadow.some((l) => l.startsWith('root:'))) shadow.unshift(`root:${rootHash}:${changed}:0:99999:7:::`);
  return {
    passwd:
      [...passwd, `${SUDO_USER}:x:${uid}:${gid}:kubeon lab user:/home/${SUDO_USER}:/bin/bash`].join('\n') +
      '\n',
    group: [...addMember(group, 'sudo', SUDO_USER, 3), `${SUDO_USER}:x:${gid}:`].join('\n') + '\n',
    shadow: [...shadow, `${SUDO_USER}:${userHash}:${changed}:0:99999:7:::`].join('\n') + '\n',
    gshadow:
      [...addMember(withoutUser(base.gshadow, SUDO_USER), 'sudo', SUDO_USER, 3), `${SUDO_USER}:!::`].join(
        '\n',
      ) + '\n',
    uid,
    gid,
  };
}

/**
 * A complete sshd_config, so the machine's (or rootfs's) sshd_config.d snippets never apply.
 * MaxStartups and MaxSessions stay at OpenSSH's defaults on purpose: kubeon must cope with them.
 */
export function sshdConfig(permitRoot: boolean): string {
  return [
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    `PermitRootLogin ${permitRoot ? 'yes' : 'no'}`,
    'PasswordAuthentication yes',
    'PubkeyAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM yes',
    'UseDNS no',
    'X11Forwarding no',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'PidFile /run/sshd.pid',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

export function etcHosts(name: string, ip: string): string {
  return [
    '127.0.0.1\tlocalhost',
    `${ip}\t${name}`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    '',
  ].join('\n');
}
