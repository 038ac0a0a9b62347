import { describe, expect, it } from 'vitest';
import { backoffDelay, isTransientConnectError, withRetry } from '../../src/fleet/retry.js';
import { NodeError } from '../../src/fleet/types.js';

const policy = { attempts: 4, baseMs: 200, capMs: 1000 };
const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with jitter between half the base and the ceiling', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(100);
    expect(backoffDelay(0, policy, () => 1)).toBe(200);
    expect(backoffDelay(2, policy, () => 1)).toBe(800);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(3, policy)));
    expect(spread.size).toBeGreaterThan(10);
  });
});

describe('isTransientConnectError', () => {
  it('retries what sshd does under MaxStartups and refused or reset connections', () => {
    expect(
      isTransientConnectError(new Error('kex_exchange_identification: Connection closed by remote host')),
    ).toBe(true);
    expect(isTransientConnectError(new Error('connection closed before handshake completed'))).toBe(true);
    expect(isTransientConnectError(errno('ECONNRESET', 'read ECONNRESET'))).toBe(true);
    expect(isTransientConnectError(errno('ECONNREFUSED'))).toBe(true);
  });

  it('does not retry timeouts, authentication or anything unknown', () => {
    expect(isTransientConnectError(new NodeError('unreachable', 'TCP connect timed out'))).toBe(false);
    expect(isTransientConnectError(new Error('All configured authentication methods failed'))).toBe(false);
    expect(isTransientConnectError('ECONNRESET')).toBe(false);
  });
});

describe('withRetry', () => {
  it('retries transient failures with back-off and returns the first success', async () => {
    const slept: number[] = [];
    let calls = 0;
    const v = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw errno('ECONNRESET');
        return 'ok';
      },
      {
        policy,
        retryable: isTransientConnectError,
        sleep: async (ms) => void slept.push(ms),
        random: () => 1,
      },
    );
    expect(v).toBe('ok');
    expect(slept).toEqual([200, 400]);
  });

  it('--connect-timeout bounds the whole: an unreachable host is not retried past it', async () => {
    let clock = 0;
    let calls = 0;
    const started = clock;
    await expect(
      withRetry(
        async () => {
          calls++;
          clock += 3000; // each attempt waits for the host to answer "unreachable"
          throw errno('EHOSTUNREACH');
        },
        {
          policy: { attempts: 6, baseMs: 300, capMs: 4000 },
          retryable: isTransientConnectError,
          sleep: async (ms) => {
            clock += ms;
          },
          random: () => 1,
          now: () => clock,
          totalMs: 15_000,
        },
      ),
    ).rejects.toMatchObject({ code: 'EHOSTUNREACH' });
    expect(clock - started).toBeLessThanOrEqual(15_000);
    expect(calls).toBeLessThan(6);
  });

  it('gives up after the last attempt and never retries a permanent failure', async () => {
    let calls = 0;
    const fail = (e: unknown) =>
      withRetry(
        async () => {
          calls++;
          throw e;
        },
        { policy, retryable: isTransientConnectError, sleep: async () => {} },
      );
    await expect(fail(errno('ECONNREFUSED'))).rejects.toThrow('ECONNREFUSED');
    expect(calls).toBe(4);
    calls = 0;
    await expect(fail(new NodeError('auth', 'denied'))).rejects.toThrow('denied');
    expect(calls).toBe(1);
  });
});
