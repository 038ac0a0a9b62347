import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClusterSpec } from '../cluster/spec.js';
import { KubeonError } from '../core/errors.js';
import { raw, script } from '../fleet/script.js';
import type { FleetTarget } from '../fleet/types.js';
import { rollMasters } from '../phases/roll.js';
import { type CertRow, NODE_CERTS_SCRIPT, nodeInventory, readCaCerts } from './inventory.js';
import { parseKubeconfig } from './kubeconfig.js';
import { type PlacementFleet, placeFiles, readPlacement } from './placement.js';
import type { PkiNode } from './profiles.js';
import { restartStaticPodsScript, waitReadyz } from './renew.js';
import { ensureCas, ensureControlKubeconfig, ensureNodePki, pkiExists } from './store.js';

/**
 * The two things `kubeon certs` does beyond reading local files: read every master's certificates
 * over SSH, and renew (re-issue from the existing CAs, place, restart one master at a time).
 */

export interface MasterTarget {
  node: PkiNode;
  target: FleetTarget;
  /** Index among the masters; master 0 ran `kubeadm init`. */
  index: number;
}

export interface NodeReadResult {
  rows: CertRow[];
  failures: { node: string; message: string }[];
}

/** Reads /etc/kubernetes certificates on every given master (public parts only). */
export async function readNodeCerts(
  fleet: Pick<PlacementFleet, 'run'>,
  pkiDir: string,
  masters: readonly MasterTarget[],
  now: Date,
  timeoutMs = 60_000,
): Promise<NodeReadResult> {
  const cas = await readCaCerts(pkiDir);
  const results = await fleet.run(
    masters.map((m) => m.target),
    script('read certificates', raw(NODE_CERTS_SCRIPT)),
    { timeoutMs },
  );
  const out: NodeReadResult = { rows: [], failures: [] };
  for (const [i, r] of results.entries()) {
    const m = masters[i]!;
    if (r.error) out.failures.push({ node: m.node.name, message: r.error.message });
    else out.rows.push(...nodeInventory(m.node.name, r.stdout, cas, now));
  }
  return out;
}

export interface RenewOptions {
  now: Date;
  who: { user: string; host: string };
  /** Copy to the masters and restart their control planes; false only re-issues locally. */
  place: boolean;
  readyzTimeoutMs: number;
  /** Seconds kubelet gets to stop the static pods when the node has no crictl to ask. */
  settleSeconds?: number;
  /** Limit for the restart step on each master (default 3 minutes). */
  stepTimeoutMs?: number;
  progress?: (msg: string) => void;
}

export interface RenewResult {
  written: string[];
  placed: string[];
}

/**
 * Re-issues the selected masters' leaves and kubeconfigs and this machine's kubeconfig from the
 * existing CAs (never new CAs), then, master by master, places them, restarts the static pods and
 * waits for /readyz before touching the next one. kubelet.conf is not placed: after `kubeadm init`
 * it points at kubelet's own rotated certificate.
 */
export async function renewCertificates(
  fleet: PlacementFleet | undefined,
  paths: { pki: string; kubeconfig: string },
  spec: ClusterSpec,
  version: string,
  masters: readonly MasterTarget[],
  opts: RenewOptions,
): Promise<RenewResult> {
  if (!pkiExists(paths.pki)) {
    throw new KubeonError(`cluster ${spec.name} has no PKI in ${paths.pki}`, {
      hint: `kubeon create ${spec.name} makes it; renew only re-issues from existing CAs`,
    });
  }
  const { cas, written } = await ensureCas(paths.pki, spec, opts.now);
  for (const m of masters) {
    const r = await ensureNodePki(paths.pki, cas, spec, version, m.node, {
      now: opts.now,
      renew: true,
      first: m.index === 0,
    });
    written.push(...r.written);
  }
  const control = await ensureControlKubeconfig(paths.kubeconfig, cas, spec, version, opts.who, {
    now: opts.now,
    renew: true,
  });
  if (control.written) written.push('kubeconfig');
  if (!opts.place) return { written, placed: [] };
  if (!fleet) throw new Error('renew with placement needs a fleet');
  const k = parseKubeconfig(await readFile(paths.kubeconfig, 'utf8'));
  const creds = {
    caPem: cas.ca.certPem,
    certPem: k?.certPem ?? '',
    keyPem: k?.keyPem ?? '',
    servername: spec.controlPlane.endpoint,
  };
  const placed = await rollMasters(masters, {
    what: 'the certificate renewal',
    async step(m) {
      opts.progress?.(`${m.node.name}: placing certificates`);
      const files = await readPlacement(paths.pki, spec, version, m.node, { kubelet: false });
      await placeFiles(fleet, m.target, files, dirname(paths.pki));
      opts.progress?.(`${m.node.name}: restarting the control-plane static pods`);
      const [r] = await fleet.run([m.target], restartStaticPodsScript(60, opts.settleSeconds), {
        timeoutMs: opts.stepTimeoutMs ?? 180_000,
      });
      if (r?.error) throw new Error(`restarting the control plane: ${r.error.message}`);
    },
    readyz: (m) => waitReadyz(m.node.ip, creds, { timeoutMs: opts.readyzTimeoutMs }),
    hint: (m) => `run kubeon certs ${spec.name} renew --nodes name=${m.node.name}`,
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  return { written, placed };
}
