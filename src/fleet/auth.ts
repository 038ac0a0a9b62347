import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type AnyAuthMethod, type AuthenticationType, type ParsedKey } from 'ssh2';
import { NodeError, type SshCredentials } from './types.js';

/**
 * The login methods to try for one node, in order, and their descriptions for error messages
 * (which name methods and key paths, never secrets).
 */
export interface AuthPlan {
  methods: { type: AuthenticationType; label: string; make(user: string): AnyAuthMethod }[];
}

/**
 * Parsed private keys shared by every connection of a run: decrypting a passphrase-protected
 * OpenSSH key costs bcrypt rounds, which should be paid once, not once per node.
 */
export class KeyCache {
  private readonly keys = new Map<string, Promise<ParsedKey | Error | undefined>>();

  /** The key, an Error for a key that cannot be used, or undefined when the file does not exist. */
  get(path: string, passphrase: string | undefined): Promise<ParsedKey | Error | undefined> {
    const id = `${path}\0${passphrase ?? ''}`;
    let p = this.keys.get(id);
    if (!p) {
      p = loadKey(path, passphrase);
      this.keys.set(id, p);
    }
    return p;
  }
}

async function loadKey(path: string, passphrase: string | undefined): Promise<ParsedKey | Error | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return new Error(`cannot read private key ${path}: ${code ?? (err as Error).message}`);
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    if (/encrypted|passphrase|bad decrypt|integrity/i.test(parsed.message)) {
      return new Error(
        passphrase === undefined
          ? `private key ${path} is encrypted and no passphrase was given`
          : `cannot decrypt private key ${path}: wrong passphrase`,
      );
    }
    return new Error(`private key ${path} is not a supported key: ${parsed.message}`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) return new Error(`${path} holds no private key`);
  return key;
}

export interface AuthEnv {
  /** The control machine's environment: SSH_AUTH_SOCK and HOME. */
  env: NodeJS.ProcessEnv;
  keys: KeyCache;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * Order: what the cluster spec configures first (the key file, then the password, also offered as
 * keyboard-interactive, which is how PAM-only servers ask for it), then the ssh-agent, then the
 * default keys in ~/.ssh when neither a key nor a password was configured. Configured methods go
 * first because sshd disconnects after MaxAuthTries (6) failures, which an agent full of keys
 * would otherwise use up.
 */
export async function planAuth(c: SshCredentials, where: string, a: AuthEnv): Promise<AuthPlan> {
  const methods: AuthPlan['methods'] = [];
  if (c.privateKeyFile) {
    const key = await a.keys.get(c.privateKeyFile, c.privateKeyPassphrase);
    if (key === undefined)
      throw new NodeError('auth', `private key ${c.privateKeyFile} of ${where} does not exist`);
    if (key instanceof Error) throw new NodeError('auth', `${key.message} (${where})`);
    methods.push({
      type: 'publickey',
      label: `publickey ${c.privateKeyFile}`,
      make: (username) => ({ type: 'publickey', username, key }),
    });
  }
  if (c.password !== undefined) {
    const password = c.password;
    methods.push({
      type: 'password',
      label: 'password',
      make: (username) => ({ type: 'password', username, password }),
    });
    methods.push({
      type: 'keyboard-interactive',
      label: 'keyboard-interactive',
      make: (username) => ({
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)),
      }),
    });
  }
  const agent = a.env.SSH_AUTH_SOCK;
  if (agent) {
    methods.push({ type: 'agent', label: 'agent', make: (username) => ({ type: 'agent', username, agent }) });
  }
  if (!c.privateKeyFile && c.password === undefined) {
    const home = a.env.HOME || homedir();
    for (const name of DEFAULT_KEYS) {
      const path = join(home, '.ssh', name);
      const key = await a.keys.get(path, undefined);
      if (key === undefined || key instanceof Error) continue;
      methods.push({
        type: 'publickey',
        label: `publickey ${path}`,
        make: (username) => ({ type: 'publickey', username, key }),
      });
    }
  }
  if (methods.length === 0) {
    throw new NodeError(
      'auth',
      `no way to log in to ${where} as ${c.user}: no password, no key file, no ssh-agent and no ~/.ssh/id_ed25519 or id_rsa`,
    );
  }
  return { methods };
}

/**
 * An ssh2 auth handler walking the plan, skipping methods the server does not offer, and
 * recording what was tried for the error message.
 */
export function authHandler(plan: AuthPlan, user: string, tried: string[]) {
  let next = 0;
  return (
    authsLeft: AuthenticationType[] | null,
    _partial: boolean | null,
    cb: (m: AnyAuthMethod | false) => void,
  ): void => {
    while (next < plan.methods.length) {
      const m = plan.methods[next++]!;
      const serverType = m.type === 'agent' ? 'publickey' : m.type;
      if (authsLeft && !authsLeft.includes(serverType)) continue;
      tried.push(m.label);
      cb(m.make(user));
      return;
    }
    cb(false);
  };
}
