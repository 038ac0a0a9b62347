/**
 * Download progress on stderr: on a TTY, one redrawn bar per file in flight plus a total line with speed
 * and ETA; elsewhere (CI, logs, pipes), one plain line when a file starts and when it ends.
 */

export interface Progress {
  begin(id: string, label: string): void;
  /** `done` counts bytes of the file now present, including a resumed part. */
  update(id: string, done: number, total: number | undefined): void;
  end(id: string, note: string): void;
  close(): void;
}

export const silentProgress: Progress = {
  begin() {},
  update() {},
  end() {},
  close() {},
};

interface Item {
  label: string;
  done: number;
  total: number | undefined;
  started: number;
  startBytes: number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/** `[####......]`: the bar of every progress line kubeon draws (downloads and cp). */
export function bar(fraction: number, width: number): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  now: () => number = Date.now,
): Progress {
  const items = new Map<string, Item>();
  if (!stream.isTTY) {
    return {
      begin(id, label) {
        items.set(id, { label, done: 0, total: undefined, started: now(), startBytes: 0 });
        stream.write(`fetching ${label}\n`);
      },
      update(id, done, total) {
        const it = items.get(id);
        if (it) Object.assign(it, { done, total });
      },
      end(id, note) {
        const it = items.get(id);
        items.delete(id);
        stream.write(`${it?.label ?? id}: ${note}\n`);
      },
      close() {},
    };
  }

  const start = now();
  let finishedBytes = 0;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    clear();
    const width = Math.max(40, Math.min(stream.columns ?? 100, 120));
    const lines: string[] = [];
    let active = 0;
    let known = 0;
    let rate = 0;
    for (const it of items.values()) {
      const secs = Math.max(0.001, (now() - it.started) / 1000);
      const speed = (it.done - it.startBytes) / secs;
      rate += speed;
      active += it.done;
      known += it.total ?? it.done;
      const pct = it.total ? it.done / it.total : 0;
      const eta = it.total ? formatEta((it.total - it.done) / speed) : '--';
      const tail = ` ${formatBytes(it.done)}/${it.total ? formatBytes(it.total) : '?'} ${formatBytes(speed)}/s ETA ${eta}`;
      const label = it.label.length > 40 ? `…${it.label.slice(-39)}` : it.label;
      lines.push(`${label.padEnd(40)} ${bar(pct, 20)}${tail}`.slice(0, width - 1));
    }
    const elapsed = Math.max(0.001, (now() - start) / 1000);
    const total = finishedBytes + active;
    const eta = rate > 0 ? formatEta((known - active) / rate) : '--';
    lines.push(
      `total ${formatBytes(total)} in ${formatEta(elapsed)}, ${formatBytes(total / elapsed)}/s, ETA ${eta}`.slice(
        0,
        width - 1,
      ),
    );
    stream.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const schedule = () => {
    timer ??= setInterval(draw, 150);
    timer.unref();
  };
  return {
    begin(id, label) {
      items.set(id, { label, done: 0, total: undefined, started: now(), startBytes: -1 });
      schedule();
    },
    update(id, done, total) {
      const it = items.get(id);
      if (!it) return;
      if (it.startBytes < 0) it.startBytes = done;
      it.done = done;
      it.total = total;
    },
    end(id, note) {
      const it = items.get(id);
      items.delete(id);
      if (it) finishedBytes += Math.max(0, it.done - Math.max(0, it.startBytes));
      clear();
      stream.write(`${it?.label ?? id}: ${note}\n`);
      draw();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
    },
  };
}
