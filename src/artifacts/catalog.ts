import semver from 'semver';
import { z } from 'zod';
import { badInput } from '../core/errors.js';
import catalogData from './catalog.json' with { type: 'json' };

/**
 * The version catalog: which Kubernetes minors kubeon supports and, per minor, the runtime pieces that go
 * with it. The data lives in catalog.json (bundled by the import, so a one-file build carries it); this
 * module only checks its shape and answers questions about it.
 */

const tagged = z.string().regex(/^v\d+\.\d+\.\d+$/, 'must be vX.Y.Z');
const plain = z.string().regex(/^\d+\.\d+\.\d+$/, 'must be X.Y.Z');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

export const MinorEntrySchema = z
  .object({
    containerd: plain,
    runc: tagged,
    crictl: tagged,
    cni: tagged,
    calico: tagged,
    cilium: tagged,
    haproxy: z.string().regex(/^\d+\.\d+\.\d+(-[a-z0-9]+)?$/),
    /** quay.io/cilium/cilium-envoy tag of that Cilium release; absent where no source gave it. */
    ciliumEnvoy: z
      .string()
      .regex(/^v\d+\.\d+\.\d+-\d+-[0-9a-f]{40}$/)
      .optional(),
    released: day.optional(),
    /** Upstream's end-of-life date: until then the minor gets patches. */
    endOfLife: day,
  })
  .strict();
export type MinorEntry = z.infer<typeof MinorEntrySchema>;

export const CatalogSchema = z
  .object({
    $comment: z.array(z.string()).optional(),
    minors: z.record(z.string().regex(/^1\.\d+$/), MinorEntrySchema),
    /** Per line, the first version carrying each high-severity fix; the catalog must be at or above it. */
    securityFixes: z.array(
      z
        .object({ component: z.string(), id: z.string(), fixed: z.array(tagged), source: z.string() })
        .strict(),
    ),
    /** The release lines upstream still maintains (X.Y), with where that was read. */
    maintainedLines: z
      .object({ runc: z.array(z.string()), containerd: z.array(z.string()), source: z.string() })
      .strict(),
  })
  .strict();
export type Catalog = z.infer<typeof CatalogSchema>;

export const CATALOG: Catalog = CatalogSchema.parse(catalogData);

export interface MinorInfo extends MinorEntry {
  minor: string;
  /** Upstream still publishes patches for it: its end-of-life date is not past. */
  patched: boolean;
}

export function minorsOf(catalog: Catalog = CATALOG, now: Date = new Date()): MinorInfo[] {
  const today = now.toISOString().slice(0, 10);
  const keys = Object.keys(catalog.minors).sort((a, b) => minorNumber(a) - minorNumber(b));
  return keys.map((minor) => ({
    minor,
    ...catalog.minors[minor]!,
    patched: catalog.minors[minor]!.endOfLife >= today,
  }));
}

function minorNumber(minor: string): number {
  return Number(minor.split('.')[1]);
}

export interface SupportedVersion extends MinorInfo {
  /** `vX.Y.Z` */
  version: string;
  patch: number;
}

/**
 * Accepts any released patch of a catalogued minor, so a patch published after this kubeon release works
 * the day it ships; `.0` releases are refused unless asked for, as they tend to carry the bugs the first
 * patch fixes.
 */
export function checkVersionSupported(
  version: string,
  opts: { allowDotZero?: boolean } = {},
  catalog: Catalog = CATALOG,
): SupportedVersion {
  const v = semver.parse(version.trim().replace(/^(?!v)/, 'v'), { loose: false });
  if (!v || v.prerelease.length > 0 || v.build.length > 0) {
    throw badInput(
      `Kubernetes version "${version}" is not a release of the form vX.Y.Z`,
      'give e.g. v1.31.2',
    );
  }
  const minor = `${v.major}.${v.minor}`;
  const known = minorsOf(catalog);
  const info = known.find((m) => m.minor === minor);
  if (!info) {
    throw badInput(
      `Kubernetes ${v.version} is not supported: minor ${minor} is not in the catalog`,
      `use one of ${known.map((m) => m.minor).join(', ')} (kubeon view support)`,
    );
  }
  if (v.patch === 0 && !opts.allowDotZero) {
    throw badInput(
      `Kubernetes v${v.version} is a .0 release, refused by default`,
      `use v${minor}.1 or later, or pass --allow-dot-zero`,
    );
  }
  return { ...info, version: `v${v.version}`, patch: v.patch };
}
