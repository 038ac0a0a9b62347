import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortable, INTERRUPT_EXIT, trapInterrupts } from '../../src/fleet/interrupt.js';

function fakeProcess() {
  const proc = new EventEmitter();
  const exits: number[] = [];
  const said: string[] = [];
  const opts = {
    proc: proc as unknown as Pick<NodeJS.Process, 'on' | 'off'>,
    exit: (c: number) => exits.push(c),
    say: (l: string) => said.push(l),
  };
  return { proc, exits, said, opts };
}

describe('trapInterrupts', () => {
  it('aborts on the first signal and exits 130 only when the command has cleaned up', () => {
    const f = fakeProcess();
    const trap = trapInterrupts(f.opts);
    f.proc.emit('SIGINT');
    expect(trap.signal.aborted).toBe(true);
    expect((trap.signal.reason as Error).message).toBe('interrupted by SIGINT');
    expect(f.exits).toEqual([]);
    trap.release();
    expect(f.exits).toEqual([INTERRUPT_EXIT.SIGINT]);
    expect(f.proc.listenerCount('SIGINT') + f.proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 143 at once on a second signal', () => {
    const f = fakeProcess();
    trapInterrupts(f.opts);
    f.proc.emit('SIGTERM');
    f.proc.emit('SIGTERM');
    expect(f.exits).toEqual([143]);
    expect(f.said[1]).toMatch(/again/);
  });

  it('exits when clean-up overruns its grace', async () => {
    const f = fakeProcess();
    trapInterrupts({ ...f.opts, graceMs: 30 });
    f.proc.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 80));
    expect(f.exits).toEqual([143]);
  });

  it('changes nothing when no signal came', () => {
    const f = fakeProcess();
    const trap = trapInterrupts(f.opts);
    trap.release();
    f.proc.emit('SIGINT');
    expect(trap.signal.aborted).toBe(false);
    expect(f.exits).toEqual([]);
  });
});

describe('abortable', () => {
  it('rejects with the reason on abort and removes its listener after settling', async () => {
    const c = new AbortController();
    const p = abortable(new Promise(() => {}), c.signal);
    c.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    const d = new AbortController();
    await expect(abortable(Promise.resolve(5), d.signal)).resolves.toBe(5);
  });
});
