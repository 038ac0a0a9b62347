/** Small facts about the node the stand-ins run on, read the way the Go tools read them. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function swapOn(): boolean {
  const lines = (readText('/proc/swaps') ?? '').trim().split('\n');
  return lines.length > 1;
}

export function inPath(exe: string): string | undefined {
  for (const dir of (
    process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  ).split(':')) {
    const p = `${dir}/${exe}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Tries to bind the port on all addresses, as kubeadm's PortOpenCheck does. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export function unixSocketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export function dirEmpty(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return true;
  }
}

export function nodeName(): string {
  return hostname().toLowerCase();
}

/** The address of the interface holding the default route, as kubeadm's ChooseHostInterface picks it. */
export function defaultAddress(): string | undefined {
  const route = readText('/proc/net/route') ?? '';
  const dev = route
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === '00000000')?.[0];
  const ifs = networkInterfaces();
  const pick = (list: ReturnType<typeof networkInterfaces>[string]) =>
    list?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (dev && ifs[dev]) return pick(ifs[dev]);
  for (const list of Object.values(ifs)) {
    const a = pick(list);
    if (a) return a;
  }
  return undefined;
}

export function systemctl(...args: string[]): { ok: boolean; out: string; available: boolean } {
  if (!existsSync('/run/systemd/system'))
    return {
      ok: false,
      out: "System has not been booted with systemd as init system (PID 1). Can't operate.",
      available: false,
    };
  const r = spawnSync('systemctl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), available: true };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
