/**
 * A pflag-compatible command-line parser: the real kubeadm, kubelet, kubectl, crictl and ctr are Go
 * programs built on spf13/pflag (or urfave/cli for ctr), so the stand-ins must accept and refuse
 * exactly the same spellings (`--a=b`, `--a b`, `-v=5`, `-v5`, bool flags without a value) and fail
 * with the same messages.
 */
export type FlagKind = 'string' | 'bool' | 'int' | 'duration' | 'strings' | 'map';

export interface FlagSpec {
  kind: FlagKind;
  short?: string;
}

export type FlagTable = Record<string, FlagSpec>;

export interface ParsedFlags {
  /** Flags in the order given; repeated list flags accumulate. */
  values: Map<string, string | boolean | string[]>;
  args: string[];
}

export class FlagError extends Error {}

const s = (short?: string): FlagSpec => (short ? { kind: 'string', short } : { kind: 'string' });
const b = (short?: string): FlagSpec => (short ? { kind: 'bool', short } : { kind: 'bool' });
export const flag = {
  str: s,
  bool: b,
  int: (): FlagSpec => ({ kind: 'int' }),
  dur: (): FlagSpec => ({ kind: 'duration' }),
  list: (): FlagSpec => ({ kind: 'strings' }),
  map: (): FlagSpec => ({ kind: 'map' }),
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$|^0$/;

function setValue(out: ParsedFlags, name: string, spec: FlagSpec, raw: string): void {
  switch (spec.kind) {
    case 'bool':
      if (!/^(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.test(raw)) {
        throw new FlagError(
          `invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
        );
      }
      out.values.set(name, /^(true|1|t|TRUE|True)$/.test(raw));
      return;
    case 'int':
      if (!/^-?\d+$/.test(raw)) {
        throw new FlagError(
          `invalid argument "${raw}" for "--${name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`,
        );
      }
      out.values.set(name, raw);
      return;
    case 'duration':
      if (!DURATION.test(raw)) {
        throw new FlagError(
          `invalid argument "${raw}" for "--${name}" flag: time: invalid duration "${raw}"`,
        );
      }
      out.values.set(name, raw);
      return;
    case 'strings':
    case 'map': {
      const prev = out.values.get(name);
      const items = raw === '' ? [] : raw.split(',');
      out.values.set(name, [...(Array.isArray(prev) ? prev : []), ...items]);
      return;
    }
    default:
      out.values.set(name, raw);
  }
}

/** Parses argv against a table of long flags; stops treating words as flags after `--`. */
export function parseFlags(argv: readonly string[], table: FlagTable): ParsedFlags {
  const out: ParsedFlags = { values: new Map(), args: [] };
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) if (spec.short) byShort.set(spec.short, name);
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const spec = table[name];
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) setValue(out, name, spec, word.slice(eq + 1));
      else if (spec.kind === 'bool') out.values.set(name, true);
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        setValue(out, name, spec, argv[++i]!);
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      const c = word[1]!;
      const name = byShort.get(c);
      if (!name) throw new FlagError(`unknown shorthand flag: '${c}' in ${word}`);
      const spec = table[name]!;
      const rest = word.slice(2);
      if (rest.startsWith('=')) setValue(out, name, spec, rest.slice(1));
      else if (rest) {
        if (spec.kind === 'bool') throw new FlagError(`unknown shorthand flag: '${rest[0]}' in ${word}`);
        setValue(out, name, spec, rest);
      } else if (spec.kind === 'bool') out.values.set(name, true);
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        setValue(out, name, spec, argv[++i]!);
      }
      continue;
    }
    out.args.push(word);
  }
  return out;
}

export function str(p: ParsedFlags, name: string): string | undefined {
  const v = p.values.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: ParsedFlags, name: string): boolean {
  return p.values.get(name) === true;
}

export function list(p: ParsedFlags, name: string): string[] {
  const v = p.values.get(name);
  return Array.isArray(v) ? v : [];
}

/** Go durations as kubeadm writes them (`24h0m0s`, `4m0s`) to milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}
