/**
 * Faults the mirror injects, per URL path: the failures kubeon's downloader must survive.
 * A fault's `path` is an exact URL path or a glob where `*` matches any run of characters
 * (`/dl.k8s.io/release/v1.31.*` covers a whole release). `times` is how many requests it hits before it is spent:
 * a number, or `always`. Default: `drop` hits once (a resume then succeeds), everything else always.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CHECKSUM_SUFFIXES } from './layout.js';

const times = z.union([z.number().int().positive(), z.literal('always')]).optional();
const pathPattern = z.string().startsWith('/');

export const FaultSchema = z.discriminatedUnion('kind', [
  /** Close the connection after this many body bytes of the response. */
  z.object({ kind: z.literal('drop'), path: pathPattern, times, afterBytes: z.number().int().nonnegative() }),
  /** Serve checksum files whose digest for the path is wrong (same format, different hex). */
  z.object({ kind: z.literal('checksum'), path: pathPattern, times }),
  /** Serve the file with one byte flipped (same length, so only a digest check notices). */
  z.object({ kind: z.literal('corrupt'), path: pathPattern, times }),
  /** Answer with this status and no file (404 by default). */
  z.object({
    kind: z.literal('status'),
    path: pathPattern,
    times,
    status: z.number().int().min(400).max(599).default(404),
  }),
  /** Wait before the headers and/or cap the body rate. */
  z.object({
    kind: z.literal('slow'),
    path: pathPattern,
    times,
    delayMs: z.number().int().nonnegative().optional(),
    bytesPerSecond: z.number().int().positive().optional(),
  }),
]);
export type FaultInput = z.input<typeof FaultSchema>;
export type Fault = z.output<typeof FaultSchema>;
export type FaultKind = Fault['kind'];

export interface FaultState {
  id: number;
  fault: Fault;
  /** Hits left; `always` never runs out. */
  remaining: number | 'always';
  hits: number;
}

export function parseFaults(input: unknown): Fault[] {
  const list = Array.isArray(input) ? input : (input as { faults?: unknown } | null)?.faults;
  return z.array(FaultSchema).parse(list ?? [input]);
}

export function globMatches(pattern: string, urlPath: string): boolean {
  if (!pattern.includes('*')) return pattern === urlPath;
  const re = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`).test(urlPath);
}

export const isChecksumPath = (urlPath: string): boolean =>
  CHECKSUM_SUFFIXES.some((s) => urlPath.endsWith(s));

/** The live fault list of one mirror; each server owns one, nothing is shared. */
export class FaultSet {
  #items: FaultState[] = [];
  #nextId = 1;

  constructor(initial: FaultInput[] = []) {
    this.add(initial);
  }

  add(faults: FaultInput[]): FaultState[] {
    const added = faults.map((f) => {
      const fault = FaultSchema.parse(f);
      const remaining = fault.times ?? (fault.kind === 'drop' ? 1 : 'always');
      return { id: this.#nextId++, fault, remaining, hits: 0 };
    });
    this.#items.push(...added);
    return added;
  }

  replace(faults: FaultInput[]): FaultState[] {
    this.#items = [];
    return this.add(faults);
  }

  clear(): void {
    this.#items = [];
  }

  list(): FaultState[] {
    return this.#items.map((s) => ({ ...s }));
  }

  /** The first live fault of `kind` that `test` accepts; consumed (one hit) when `take` is true. */
  find<K extends FaultKind>(
    kind: K,
    test: (f: Extract<Fault, { kind: K }>) => boolean,
    take = true,
  ): Extract<Fault, { kind: K }> | undefined {
    for (const s of this.#items) {
      if (s.fault.kind !== kind || s.remaining === 0) continue;
      const f = s.fault as Extract<Fault, { kind: K }>;
      if (!test(f)) continue;
      if (take) {
        s.hits++;
        if (s.remaining !== 'always') s.remaining--;
      }
      return f;
    }
    return undefined;
  }

  forPath<K extends FaultKind>(kind: K, urlPath: string): Extract<Fault, { kind: K }> | undefined {
    return this.find(kind, (f) => globMatches(f.path, urlPath));
  }

  /**
   * Rewrites a checksum file's text if a `checksum` fault covers it: the fault may name the checksum
   * file itself (every digest in it goes wrong), or the artifact it describes (only that digest, so
   * runc's shared `runc.sha256sum` can break for one arch).
   */
  checksumText(urlPath: string, text: string): string | undefined {
    if (this.forPath('checksum', urlPath)) return wrongDigests(text, () => true);
    const dir = urlPath.slice(0, urlPath.lastIndexOf('/'));
    const suffix = CHECKSUM_SUFFIXES.find((s) => urlPath.endsWith(s)) ?? '';
    const artifact = urlPath.slice(0, urlPath.length - suffix.length);
    const names = new Set<string>();
    const hit = this.find('checksum', (f) => {
      const named = text
        .split('\n')
        .map((line) => /^[0-9a-f]+ [ *]?(.+)$/.exec(line)?.[1])
        .filter((n): n is string => n !== undefined && globMatches(f.path, `${dir}/${n}`));
      for (const n of named) names.add(n);
      return named.length > 0 || globMatches(f.path, artifact);
    });
    if (!hit) return undefined;
    return wrongDigests(text, (name) => names.size === 0 || (name !== undefined && names.has(name)));
  }
}

/** Replaces each selected hex digest with a different digest of the same length. */
function wrongDigests(text: string, select: (name: string | undefined) => boolean): string {
  return text.replace(/^([0-9a-f]{32,128})((?: [ *]?)(.+))?$/gm, (whole, hex: string, rest, name) => {
    if (!select(name as string | undefined)) return whole;
    const other = createHash('sha512').update(`kubeon-lab-wrong:${hex}`).digest('hex');
    return other.slice(0, hex.length).padEnd(hex.length, '0') + (rest ?? '');
  });
}
