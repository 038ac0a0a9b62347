import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Length of the union of [start, end] intervals, in ms. */
export function unionMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, e] of sorted) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/**
 * The time every remote step of a command's log covers, plus `also` (e.g. a phase that only polls
 * the cluster), overlaps counted once (ms).
 */
export function remoteMs(logsDir: string, command: string, also: [number, number][] = []): number {
  const file = readdirSync(logsDir).find((f) => f.endsWith(`-${command}.log`))!;
  const remote: [number, number][] = [...also];
  for (const line of readFileSync(join(logsDir, file), 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { t: string; event: string; durationMs?: number };
    if ((e.event === 'run' || e.event === 'put') && e.durationMs !== undefined) {
      const end = Date.parse(e.t);
      remote.push([end - e.durationMs, end]);
    }
  }
  return unionMs(remote);
}
