/**
 * The per-host call log end-to-end tests read to assert the order of operations across hosts
 * (first master's init before any join, one control-plane join at a time, drain before upgrade).
 * One JSON object per line, appended with O_APPEND so concurrent stand-ins never interleave a line.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';

export const CALL_LOG = '/var/log/kubeon-standins/calls.jsonl';

export interface CallEntry {
  time: string;
  host: string;
  pid: number;
  tool: string;
  version: string;
  event: string;
  argv?: string[];
  configs?: { path: string; sha256: string }[];
  [extra: string]: unknown;
}

export function digest(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Flags whose values are credentials: the log is world-readable, so they are never written. */
const SECRET_FLAGS = ['token', 'discovery-token', 'tls-bootstrap-token', 'certificate-key', 'password'];

export function redactArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--?([a-z-]+)(=.*)?$/.exec(a);
    if (m && SECRET_FLAGS.includes(m[1]!)) {
      out.push(m[2] === undefined ? a : `--${m[1]}=<redacted>`);
      if (m[2] === undefined && i + 1 < argv.length) {
        out.push('<redacted>');
        i++;
      }
    } else out.push(a);
  }
  return out;
}

export class CallLog {
  private readonly configs: { path: string; sha256: string }[] = [];
  constructor(
    readonly tool: string,
    readonly version: string,
    private readonly path = CALL_LOG,
  ) {}

  /** Remembers a config file the tool read, so the next entry names its digest. */
  noteConfig(path: string, content: string | Buffer): void {
    this.configs.push({ path, sha256: digest(content) });
  }

  write(event: string, fields: Record<string, unknown> = {}): void {
    const entry: CallEntry = {
      time: new Date().toISOString(),
      host: hostname(),
      pid: process.pid,
      tool: this.tool,
      version: this.version,
      event,
      ...fields,
    };
    if (Array.isArray(entry.argv)) entry.argv = redactArgv(entry.argv);
    if (this.configs.length) entry.configs = [...this.configs];
    try {
      mkdirSync('/var/log/kubeon-standins', { recursive: true, mode: 0o755 });
      appendFileSync(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o644 });
    } catch {
      // A read-only /var/log must not turn into a failure the real tool would not have.
    }
  }
}
