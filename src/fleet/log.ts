import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Removes every known secret (passwords, passphrases, sudo passwords) from text before it is logged
 * or shown. Secrets are not supposed to reach logs at all; this is the second line of defence, for
 * the case where a node echoes one back or a user types one into a command.
 */
export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | undefined>) {
    const set = new Set<string>();
    for (const s of secrets) if (s) set.add(s);
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...set].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  /** Redacts every string inside a JSON-like value. */
  redactValue<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v)) as T;
    if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactValue(v)])) as T;
    }
    return value;
  }
}

export interface LogEvent {
  event: string;
  node?: string;
  ip?: string;
  [key: string]: unknown;
}

/** Where fleet events go: a JSON-lines file for real runs, memory for tests, nothing for probes. */
export interface FleetLogger {
  readonly path: string | undefined;
  write(e: LogEvent): void;
  close(): void;
}

/** `2026-11-27T08-55-01.123Z`: sortable and free of ':' so it works as a file name anywhere. */
export function logStamp(now: Date): string {
  return now.toISOString().replace(/:/g, '-');
}

/**
 * One JSON line per event in clusters/<name>/logs/<timestamp>-<command>.log, mode 0600. Lines are
 * written synchronously so a crash loses nothing that happened before it.
 */
export class FileLog implements FleetLogger {
  private fd: number | undefined;

  constructor(
    readonly path: string,
    private readonly redactor: Redactor,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.fd = openSync(path, 'a', 0o600);
  }

  static open(logDir: string, command: string, redactor: Redactor, now: Date = new Date()): FileLog {
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const safe = command.replace(/[^A-Za-z0-9_-]/g, '_');
    return new FileLog(join(logDir, `${logStamp(now)}-${safe}.log`), redactor);
  }

  write(e: LogEvent): void {
    if (this.fd === undefined) return;
    const line = JSON.stringify({ t: this.now().toISOString(), ...this.redactor.redactValue(e) });
    writeSync(this.fd, `${line}\n`);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export class MemoryLog implements FleetLogger {
  readonly path = undefined;
  readonly events: LogEvent[] = [];
  constructor(private readonly redactor: Redactor = new Redactor([])) {}
  write(e: LogEvent): void {
    this.events.push({ t: new Date().toISOString(), ...this.redactor.redactValue(e) });
  }
  close(): void {}
}
