import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/fleet-flags.js';
import { LineSplitter } from '../../src/fleet/lines.js';
import { FileLog, logStamp, Redactor } from '../../src/fleet/log.js';

describe('Redactor', () => {
  it('replaces every secret, longest first, in text and nested values', () => {
    const r = new Redactor(['hunter2', 'hunter2-long', undefined, '']);
    expect(r.redact('pw hunter2-long and hunter2 twice hunter2')).toBe('pw *** and *** twice ***');
    expect(r.redactValue({ a: ['x hunter2'], b: { c: 'hunter2' }, n: 3 })).toEqual({
      a: ['x ***'],
      b: { c: '***' },
      n: 3,
    });
  });

  it('redacts secrets with JSON-special characters before they are escaped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-log-'));
    const secret = 'p"a\\ss';
    const log = FileLog.open(dir, 'exec', new Redactor([secret]), new Date('2026-01-02T03:04:05.678Z'));
    log.write({ event: 'run', node: 'n1', stderrTail: `sudo said ${secret}` });
    log.close();
    const [name] = readdirSync(dir);
    expect(name).toBe('2026-01-02T03-04-05.678Z-exec.log');
    const path = join(dir, name!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('a\\\\ss');
    expect(JSON.parse(text.trim())).toMatchObject({ event: 'run', node: 'n1', stderrTail: 'sudo said ***' });
  });

  it('stamps are sortable file names', () => {
    expect(logStamp(new Date('2026-11-27T08:55:01.123Z'))).toBe('2026-11-27T08-55-01.123Z');
  });
});

describe('LineSplitter', () => {
  it('splits chunks across boundaries, multi-byte characters and CRLF; flushes the last line', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const euro = Buffer.from('€');
    s.push(Buffer.from('one\r\ntw'));
    s.push(Buffer.concat([Buffer.from('o '), euro.subarray(0, 1)]));
    s.push(Buffer.concat([euro.subarray(1), Buffer.from('\nlast')]));
    s.end();
    expect(lines).toEqual(['one', 'two €', 'last']);
  });
});

describe('parseDuration', () => {
  it('reads seconds by default and ms, s, m, h suffixes', () => {
    expect(parseDuration('90', '--timeout')).toBe(90_000);
    expect(parseDuration('1500ms', '--timeout')).toBe(1500);
    expect(parseDuration('10m', '--timeout')).toBe(600_000);
    expect(() => parseDuration('ten', '--timeout')).toThrow(/not a duration/);
    expect(() => parseDuration('0', '--timeout')).toThrow(/not a duration/);
  });
});
