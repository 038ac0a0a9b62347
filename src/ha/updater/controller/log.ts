/** One line per action: `<time> <action> key=value ...`, values JSON-quoted when they need it. */
export type Log = (action: string, fields?: Record<string, unknown>) => void;

function value(v: unknown): string {
  const s = Array.isArray(v) ? v.join(',') : String(v);
  return /^[\w.,:/@[\]-]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

export function lineLog(write: (line: string) => void, now: () => number = Date.now): Log {
  return (action, fields = {}) => {
    const kv = Object.entries(fields).map(([k, v]) => `${k}=${value(v)}`);
    write(`${new Date(now()).toISOString()} ${[action, ...kv].join(' ')}\n`);
  };
}
