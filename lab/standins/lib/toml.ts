/**
 * A TOML reader for the subset containerd and crictl configs use: tables and dotted/quoted table
 * names, key = value with strings, integers, floats, booleans, arrays and inline tables, and
 * comments. Anything else is a parse error, reported with its line like BurntSushi/toml does.
 */
export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [k: string]: TomlValue;
}

export class TomlError extends Error {}

function splitKey(s: string, line: number): string[] {
  const parts: string[] = [];
  let i = 0;
  const src = s.trim();
  while (i < src.length) {
    while (src[i] === ' ') i++;
    if (src[i] === '"' || src[i] === "'") {
      const q = src[i]!;
      const end = src.indexOf(q, i + 1);
      if (end < 0) throw new TomlError(`toml: line ${line}: unterminated quoted key`);
      parts.push(src.slice(i + 1, end));
      i = end + 1;
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i));
      if (!m) throw new TomlError(`toml: line ${line}: invalid key "${src}"`);
      parts.push(m[0]);
      i += m[0].length;
    }
    while (src[i] === ' ') i++;
    if (i < src.length) {
      if (src[i] !== '.') throw new TomlError(`toml: line ${line}: invalid key "${src}"`);
      i++;
    }
  }
  return parts;
}

class Reader {
  i = 0;
  constructor(
    readonly s: string,
    readonly line: number,
  ) {}
  ws(): void {
    while (this.i < this.s.length && /[ \t\r\n]/.test(this.s[this.i]!)) this.i++;
    if (this.s[this.i] === '#') {
      while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      this.ws();
    }
  }
  value(): TomlValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '"') {
      if (this.s.startsWith('"""', this.i)) {
        const end = this.s.indexOf('"""', this.i + 3);
        const v = this.s.slice(this.i + 3, end).replace(/^\n/, '');
        this.i = end + 3;
        return v;
      }
      let out = '';
      this.i++;
      while (this.s[this.i] !== '"') {
        if (this.i >= this.s.length) throw new TomlError(`toml: line ${this.line}: unterminated string`);
        if (this.s[this.i] === '\\') {
          const e = this.s[this.i + 1];
          out += ({ n: '\n', t: '\t', '"': '"', '\\': '\\' } as Record<string, string>)[e ?? ''] ?? e;
          this.i += 2;
        } else out += this.s[this.i++];
      }
      this.i++;
      return out;
    }
    if (c === "'") {
      const end = this.s.indexOf("'", this.i + 1);
      const v = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return v;
    }
    if (c === '[') {
      this.i++;
      const arr: TomlValue[] = [];
      for (;;) {
        this.ws();
        if (this.s[this.i] === ']') {
          this.i++;
          return arr;
        }
        arr.push(this.value());
        this.ws();
        if (this.s[this.i] === ',') this.i++;
      }
    }
    if (c === '{') {
      this.i++;
      const t: TomlTable = {};
      for (;;) {
        this.ws();
        if (this.s[this.i] === '}') {
          this.i++;
          return t;
        }
        const eq = this.s.indexOf('=', this.i);
        const key = splitKey(this.s.slice(this.i, eq), this.line);
        this.i = eq + 1;
        setPath(t, key, this.value(), this.line);
        this.ws();
        if (this.s[this.i] === ',') this.i++;
      }
    }
    const m = /^(true|false|[+-]?\d[\d_]*(\.\d+)?([eE][+-]?\d+)?)/.exec(this.s.slice(this.i));
    if (!m)
      throw new TomlError(
        `toml: line ${this.line}: expected value but found "${this.s.slice(this.i, this.i + 10).split('\n')[0]}"`,
      );
    this.i += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    return Number(m[0].replace(/_/g, ''));
  }
}

function setPath(root: TomlTable, keys: string[], v: TomlValue, line: number): void {
  let t = root;
  for (const k of keys.slice(0, -1)) {
    if (t[k] === undefined) t[k] = {};
    const next = t[k];
    if (typeof next !== 'object' || Array.isArray(next))
      throw new TomlError(`toml: line ${line}: key "${k}" is not a table`);
    t = next;
  }
  const last = keys[keys.length - 1]!;
  if (last in t) throw new TomlError(`toml: line ${line}: key "${keys.join('.')}" has already been defined`);
  t[last] = v;
}

export function parseToml(text: string): TomlTable {
  const root: TomlTable = {};
  let current = root;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('[['))
      throw new TomlError(`toml: line ${n + 1}: arrays of tables are not used in this config`);
    if (line.startsWith('[')) {
      const end = line.lastIndexOf(']');
      const keys = splitKey(line.slice(1, end), n + 1);
      let t = root;
      for (const k of keys) {
        if (t[k] === undefined) t[k] = {};
        const next = t[k];
        if (typeof next !== 'object' || Array.isArray(next))
          throw new TomlError(`toml: line ${n + 1}: key "${k}" is not a table`);
        t = next;
      }
      current = t;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new TomlError(`toml: line ${n + 1}: expected key = value, got "${line}"`);
    const keys = splitKey(line.slice(0, eq), n + 1);
    // values may continue over lines (arrays, multi-line strings)
    let rest = raw.slice(raw.indexOf('=') + 1);
    let r = new Reader(rest, n + 1);
    for (;;) {
      try {
        r = new Reader(rest, n + 1);
        const v = r.value();
        r.ws();
        if (r.i < rest.length)
          throw new TomlError(
            `toml: line ${n + 1}: expected a newline after the value, found "${rest.slice(r.i).trim()}"`,
          );
        setPath(current, keys, v, n + 1);
        break;
      } catch (e) {
        if (
          n + 1 < lines.length &&
          /unterminated|expected value/.test((e as Error).message) === false &&
          !(e instanceof TypeError)
        )
          throw e;
        if (n + 1 >= lines.length) throw e;
        n++;
        rest += `\n${lines[n]}`;
      }
    }
  }
  return root;
}
