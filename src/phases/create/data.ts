import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SupportedVersion } from '../../artifacts/catalog.js';
import type { ArtifactSet } from '../../artifacts/ensure.js';
import type { Host } from '../../cluster/host.js';
import type { ClusterNode } from '../../cluster/nodes.js';
import type { FleetSettings } from '../../fleet/cluster.js';
import type { Script } from '../../fleet/script.js';
import type { FleetTarget, NodeFailure, RunResult } from '../../fleet/types.js';
import type { HaMode } from '../../ha/mode.js';
import type { Endpoint, NodeComponents, RenderInput } from '../../render/inputs.js';
import type { NodeResult, PhaseContext } from '../phase.js';

/** What create's phases hand on to each other during one run (never stored: it holds secrets). */
export interface CreateData {
  version: SupportedVersion;
  settings: FleetSettings;
  ha: HaMode;
  /** `--dry-run --assume-os ID`: facts for nodes that cannot be reached. */
  assumeOs?: string;
  /** `--accept-new-image-digests`: an offline image whose tag moved replaces its recorded digest. */
  acceptNewImageDigests?: boolean;
  /** The control machine's user and host, named in its client certificate. */
  who: { user: string; host: string };
  /** Every node of the spec, with the target used to reach it. */
  nodes: { node: ClusterNode; target: FleetTarget }[];
  /** Per node IP: why the node could not be contacted. */
  contact: Map<string, NodeFailure>;
  /** Nodes whose hostname cannot serve as their name. */
  naming: { node: string; message: string }[];
  artifacts?: ArtifactSet;
  components?: NodeComponents;
  /** Bootstrap token and certificate key of this run (made by init or the join-secrets step). */
  join?: { token: string; certificateKey?: string };
  /**
   * add and del: the cluster's nodes this run does not install (`ctx.hosts` holds the ones it does),
   * with the facts the journal kept. Their masters count in the master set, first master included.
   */
  existing?: Host[];
}

export type CreateContext = PhaseContext<CreateData>;

/** The masters and workers this run installs. */
export const masters = (ctx: CreateContext): Host[] => ctx.hosts.filter((h) => h.node.role === 'master');
export const workers = (ctx: CreateContext): Host[] => ctx.hosts.filter((h) => h.node.role === 'worker');
/** The nodes already in the cluster that this run leaves installed (add, del). */
export const existing = (ctx: CreateContext): Host[] => ctx.data.existing ?? [];
/** Every master of the cluster once this run is done: the existing ones first. */
export const allMasters = (ctx: CreateContext): Host[] => [
  ...existing(ctx).filter((h) => h.node.role === 'master'),
  ...masters(ctx),
];
/** The master that inits the cluster, makes join secrets and runs cluster-wide kubectl. */
export const firstMaster = (ctx: CreateContext): Host => allMasters(ctx)[0]!;

/** A kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`, from the CSPRNG. */
export function newBootstrapToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // 252 is the largest multiple of 36 below 256: rejecting above it keeps every character equally likely.
  const out: string[] = [];
  while (out.length < 22) {
    for (const b of randomBytes(32)) if (b < 252 && out.length < 22) out.push(alphabet[b % 36]!);
  }
  return `${out.slice(0, 6).join('')}.${out.slice(6).join('')}`;
}

/** kubeadm's certificate key: 32 random bytes as hex. */
export function newCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

/** `sha256:<hex>` of the cluster CA's public key, as `--discovery-token-ca-cert-hash` wants it. */
export async function caCertHash(pkiDir: string): Promise<string> {
  const ca = new X509Certificate(await readFile(join(pkiDir, 'ca.crt')));
  const spki = ca.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export function components(ctx: CreateContext): NodeComponents {
  const c = ctx.data.components;
  if (!c) throw new Error('the artifacts phase has not run: node components are unknown');
  return c;
}

/** What every renderer reads for one node; `resolveTo` is where the endpoint name points on it. */
export function renderInput(ctx: CreateContext, host: Host, resolveTo?: string): RenderInput {
  const endpoint: Endpoint = {
    name: ctx.spec.controlPlane.endpoint,
    port: ctx.spec.controlPlane.port,
    resolveTo: resolveTo ?? ctx.data.ha.finalResolve(ctx, host),
  };
  return {
    spec: ctx.spec,
    host,
    version: ctx.data.version.version,
    components: components(ctx),
    endpoint,
    masters: allMasters(ctx).map((m) => ({ name: m.node.name, ip: m.node.ip })),
  };
}

function tail(text: string, n = 8): string | undefined {
  const t = text.trimEnd();
  return t ? t.split('\n').slice(-n).join('\n') : undefined;
}

export function resultOf(r: RunResult): NodeResult {
  const out = tail(`${r.stdout}\n${r.stderr}`);
  return { node: r.node, ...(r.error ? { error: r.error } : {}), ...(r.error && out ? { tail: out } : {}) };
}

/** Runs a per-node script on each host (all at once within the fleet's limit). */
export async function runEach(
  ctx: CreateContext,
  hosts: Host[],
  make: (h: Host) => Script,
  timeoutMs?: number,
): Promise<NodeResult[]> {
  return Promise.all(
    hosts.map(async (h) => {
      const [r] = await ctx.fleet.run([h.target], make(h), {
        sudo: Boolean(ctx.data.settings.sudo),
        ...(timeoutMs !== undefined
          ? { timeoutMs }
          : ctx.data.settings.timeoutMs !== undefined
            ? { timeoutMs: ctx.data.settings.timeoutMs }
            : {}),
      });
      return resultOf(r!);
    }),
  );
}

/** A failure thrown by `runOn` (or any error) as the result of host `h`. */
export function failedResult(h: Host, err: unknown): NodeResult {
  const e = err as Error & { failure?: NodeResult['error']; tail?: string };
  return {
    node: h.node.name,
    error: e.failure ?? { kind: 'failed', message: e.message },
    ...(e.tail ? { tail: e.tail } : {}),
  };
}

/** Runs one script on one host and returns its stdout, throwing a node failure as an Error. */
export async function runOn(ctx: CreateContext, host: Host, s: Script, timeoutMs?: number): Promise<string> {
  const [r] = await ctx.fleet.run([host.target], s, {
    sudo: Boolean(ctx.data.settings.sudo),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  if (r!.error) {
    const t = tail(`${r!.stdout}\n${r!.stderr}`);
    throw Object.assign(new Error(`${host.node.name}: ${r!.error.message}`), { failure: r!.error, tail: t });
  }
  return r!.stdout;
}
