import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newState } from '../../src/cluster/state.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { writeFileAtomicSync } from '../../src/core/atomic.js';
import { KubeonError } from '../../src/core/errors.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'store-child.ts');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function child(...args: string[]): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: [args[0] === 'race' ? 'pipe' : 'ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  return c;
}

function exited(c: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()),
  );
}

const spec = validateSpec({
  name: 'prod',
  version: '1.31.2',
  masters: [{ ip: '192.0.2.11', password: 's3cret' }],
}).spec;

describe('atomic writes', () => {
  it('a writer killed between write and rename leaves the old content whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-atomic-'));
    const target = join(dir, 'state.json');
    writeFileAtomicSync(target, 'old');
    for (let round = 0; round < 3; round++) {
      const c = child('write', target, String(256 * 1024 * 1024), 'n');
      // Kill as soon as the temporary file exists: the write (256 MiB + fsync) is still in progress.
      const deadline = Date.now() + 20_000;
      while (!readdirSync(dir).some((f) => f.endsWith('.tmp'))) {
        if (Date.now() > deadline) throw new Error('child never started writing');
        await new Promise((r) => setTimeout(r, 2));
      }
      c.kill('SIGKILL');
      await exited(c);
      expect(readFileSync(target, 'utf8')).toBe('old');
    }
    const c = child('write', target, '1024', 'x');
    await exited(c);
    expect(readFileSync(target, 'utf8')).toBe('x'.repeat(1024));
  });
});

describe('store', () => {
  it('stores spec and state with private modes', async () => {
    const store = new Store(mkdtempSync(join(tmpdir(), 'kubeon-home-')));
    await store.writeSpec(spec);
    await store.writeState('prod', newState(new Date(0)));
    const p = store.paths('prod');
    expect(statSync(p.dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.home).mode & 0o777).toBe(0o700);
    expect(statSync(p.spec).mode & 0o777).toBe(0o600);
    expect(statSync(p.state).mode & 0o777).toBe(0o600);
    expect((await store.readSpec('prod')).masters[0]!.password).toBe('s3cret');
    expect((await store.readState('prod'))!.status).toBe('registered');
    expect(await store.list()).toEqual(['prod']);
  });
  it('names the known clusters when asked for an unknown one', async () => {
    const store = new Store(mkdtempSync(join(tmpdir(), 'kubeon-home-')));
    await store.writeSpec(spec);
    await expect(store.requireCluster('nope')).rejects.toThrow(/unknown cluster "nope"/);
    await expect(store.requireCluster('nope')).rejects.toMatchObject({
      exitCode: 2,
      hint: 'known clusters: prod',
    });
  });
  it('tracks the current cluster and forgets it when removed', async () => {
    const store = new Store(mkdtempSync(join(tmpdir(), 'kubeon-home-')));
    await store.writeSpec(spec);
    await store.setCurrent('prod');
    expect(await store.current()).toBe('prod');
    await store.remove('prod');
    expect(await store.current()).toBeUndefined();
    expect(existsSync(store.paths('prod').dir)).toBe(false);
  });
});

describe('cluster lock', () => {
  it('a second command fails fast naming the holder, and a dead holder is taken over', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kubeon-home-'));
    const holder = child('lock', home, 'prod');
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      holder.once('exit', () => reject(new Error('holder exited')));
    });
    const store = new Store(home);
    let err: unknown;
    try {
      await store.lock('prod', 'kubeon exec prod');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KubeonError);
    expect((err as KubeonError).exitCode).toBe(4);
    expect((err as KubeonError).message).toContain(`PID ${holder.pid}`);
    expect((err as KubeonError).message).toContain('kubeon create test-holder');

    holder.kill('SIGKILL');
    await exited(holder);
    const lock = await store.lock('prod', 'kubeon exec prod');
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });
});

/** Sends `line` to every racer at once and gathers one answer line from each. */
async function ask(racers: ChildProcess[], line: string): Promise<string[]> {
  const answers = racers.map(
    (r) =>
      new Promise<string>((resolve) => {
        let buf = '';
        const onData = (d: Buffer) => {
          buf += d.toString();
          const nl = buf.indexOf('\n');
          if (nl < 0) return;
          r.stdout!.off('data', onData);
          resolve(buf.slice(0, nl));
        };
        r.stdout!.on('data', onData);
      }),
  );
  for (const r of racers) r.stdin!.write(`${line}\n`);
  return Promise.all(answers);
}

describe('stale lock takeover', () => {
  it("6 processes racing for a dead holder's lock: exactly one holds it, 50 times over", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-race-'));
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, '.lock');
    const dead = spawnSync('true').pid!;
    const leftovers = [
      JSON.stringify({ pid: dead, command: 'kubeon exec', host: hostname(), startedAt: 'x' }),
      '',
      '{"pid": 12',
    ];
    const racers = Array.from({ length: 6 }, () => child('race'));
    for (let round = 0; round < 50; round++) {
      writeFileSync(lock, leftovers[round % leftovers.length]!);
      const answers = await ask(racers, `try ${lock}`);
      const holders = answers.filter((a) => a === 'held');
      expect(holders, `round ${round}: ${answers.join(' | ')}`).toHaveLength(1);
      const winner = racers[answers.indexOf('held')]!.pid;
      for (const a of answers.filter((x) => x !== 'held')) expect(a).toContain(`in use by PID ${winner}`);
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(winner);
      await ask(racers, 'release');
      expect(existsSync(lock)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    }
  }, 120_000);
});
