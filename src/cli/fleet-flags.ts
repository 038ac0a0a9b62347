import type { Command } from 'commander';
import { badInput } from '../core/errors.js';
import type { FleetSettings } from '../fleet/cluster.js';
import { collect } from './node-flags.js';

/** SSH fleet flags shared by every command that reaches nodes (create, exec, cp). */
export function addFleetFlags(cmd: Command, opts: { sudo?: boolean } = {}): Command {
  cmd
    .option('--concurrency <n>', 'nodes worked on at once (default 64)')
    .option('--timeout <duration>', 'limit per step on each node, e.g. 90s, 10m (default 10m)')
    .option('--connect-timeout <duration>', 'limit for reaching and logging in to a node (default 15s)')
    .option(
      '--accept-new-hostkey <node>',
      'accept a changed host key for this node name or address (repeatable)',
      collect,
    )
    .option('--insecure-ignore-hostkey', 'do not check or pin host keys (unsafe: allows impersonation)');
  if (opts.sudo) cmd.option('--sudo', 'run through sudo even when logged in as root');
  return cmd;
}

export interface FleetFlagValues {
  concurrency?: string;
  timeout?: string;
  connectTimeout?: string;
  acceptNewHostkey?: string[];
  insecureIgnoreHostkey?: boolean;
  sudo?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90" (seconds), "90s", "1500ms", "10m", "1h" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : Number.NaN;
  if (!m || ms <= 0)
    throw badInput(`${flag} "${text}" is not a duration`, `write ${flag} 90s, 10m or a number of seconds`);
  return ms;
}

export function fleetSettings(v: FleetFlagValues): FleetSettings {
  const s: FleetSettings = {};
  if (v.concurrency !== undefined) {
    if (!/^\d+$/.test(v.concurrency) || Number(v.concurrency) < 1 || Number(v.concurrency) > 4096)
      throw badInput(
        `--concurrency "${v.concurrency}" is not a number from 1 to 4096`,
        'e.g. --concurrency 32',
      );
    s.concurrency = Number(v.concurrency);
  }
  if (v.timeout !== undefined) s.timeoutMs = parseDuration(v.timeout, '--timeout');
  if (v.connectTimeout !== undefined)
    s.connectTimeoutMs = parseDuration(v.connectTimeout, '--connect-timeout');
  if (v.acceptNewHostkey?.length) s.acceptNewHostKey = v.acceptNewHostkey;
  if (v.insecureIgnoreHostkey) s.insecureIgnoreHostKey = true;
  if (v.sudo) s.sudo = true;
  return s;
}
