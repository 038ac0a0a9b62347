import pc from 'picocolors';

/**
 * What the runner reports while it works. Three renderings: a live phase line with node counters on
 * a TTY, one plain line per event otherwise, and one JSON object per line for automation (`-o json`).
 */
export type ProgressEvent =
  | { event: 'phase-start'; phase: string; title: string; nodes: number }
  | { event: 'node'; phase: string; node: string; status: 'done' | 'failed' | 'skipped'; error?: string }
  | {
      event: 'phase-end';
      phase: string;
      title: string;
      done: number;
      failed: number;
      skipped: number;
      ms: number;
    }
  | { event: 'plan'; phase: string; title: string; node: string; actions: string[] };

export interface Reporter {
  emit(e: ProgressEvent): void;
  close(): void;
}

type Write = (text: string) => void;

export function jsonReporter(write: Write): Reporter {
  return {
    emit: (e) => write(`${JSON.stringify(e)}\n`),
    close() {},
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function endLine(e: Extract<ProgressEvent, { event: 'phase-end' }>, color: boolean): string {
  const paint = color ? (e.failed ? pc.red : pc.green) : (s: string) => s;
  const mark = e.failed ? 'x' : 'ok';
  const counts = [`${e.done} done`];
  if (e.skipped) counts.push(`${e.skipped} already done`);
  if (e.failed) counts.push(`${e.failed} failed`);
  return `${paint(mark)} ${e.title} (${counts.join(', ')}; ${seconds(e.ms)})`;
}

function planLines(e: Extract<ProgressEvent, { event: 'plan' }>): string {
  return e.actions.map((a) => `  ${e.node}: ${a}`).join('\n');
}

/** One line per phase end and per failed node: readable in CI logs and pipes. */
export function plainReporter(write: Write): Reporter {
  let lastPlan = '';
  return {
    emit(e) {
      if (e.event === 'phase-end') write(`${endLine(e, false)}\n`);
      else if (e.event === 'node' && e.status === 'failed') write(`  ${e.node}: failed: ${e.error}\n`);
      else if (e.event === 'plan') {
        if (lastPlan !== e.phase) write(`${e.title}\n`);
        lastPlan = e.phase;
        write(`${planLines(e)}\n`);
      }
    },
    close() {},
  };
}

/**
 * The live view: the running phase redrawn in place with its node counters and elapsed time, every
 * finished phase left above it as a line of the tree.
 */
export function ttyReporter(write: Write, color: boolean, now: () => number = Date.now): Reporter {
  let current: { title: string; total: number; done: number; failed: number; started: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastPlan = '';
  const draw = () => {
    if (!current) return;
    const c = current;
    const counts = c.total
      ? ` ${c.done + c.failed}/${c.total} nodes${c.failed ? `, ${c.failed} failed` : ''}`
      : '';
    const line = `${color ? pc.cyan('>') : '>'} ${c.title}${counts} ${seconds(now() - c.started)}`;
    write(`\r\x1b[2K${line}`);
  };
  return {
    emit(e) {
      if (e.event === 'phase-start') {
        current = { title: e.title, total: e.nodes, done: 0, failed: 0, started: now() };
        timer ??= setInterval(draw, 250);
        timer.unref();
        draw();
      } else if (e.event === 'node' && current) {
        if (e.status === 'failed') {
          current.failed++;
          write(`\r\x1b[2K  ${e.node}: failed: ${e.error}\n`);
        } else current.done++;
        draw();
      } else if (e.event === 'phase-end') {
        current = undefined;
        write(`\r\x1b[2K${endLine(e, color)}\n`);
      } else if (e.event === 'plan') {
        if (lastPlan !== e.phase) write(`${color ? pc.bold(e.title) : e.title}\n`);
        lastPlan = e.phase;
        write(`${planLines(e)}\n`);
      }
    },
    close() {
      if (timer) clearInterval(timer);
      if (current) write('\n');
    },
  };
}
