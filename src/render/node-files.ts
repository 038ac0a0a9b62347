import type { Script } from '../fleet/script.js';
import { CNI_MANIFEST_DIR } from './cni.js';
import { NODE_STATE_DIR, type NodeFile } from './files.js';
import { HAPROXY_CONFIG, HAPROXY_MANIFEST, haproxyConfig, haproxyManifest } from './haproxy.js';
import type { RenderInput } from './inputs.js';
import { kubeInstallScript, kubeletFiles } from './kubelet.js';
import { osFiles, osPrepareScript } from './os.js';
import { runtimeFiles, runtimeInstallScript } from './runtime.js';

/**
 * Everything kubeon would place on one node, for `--render-dir DIR` (written as
 * DIR/<node>/<absolute path>). Files that need run-time values (the kubeadm config with its secrets,
 * the CNI manifest fetched upstream) come in through `extra`.
 */

export const SCRIPTS_DIR = `${NODE_STATE_DIR}/scripts`;

export interface NodeFileExtras {
  /** Whether this node runs the local haproxy static pod (the HA mode decides). */
  haproxy?: boolean;
  /** Rendered kubeadm configuration and where it goes (init.yaml or join.yaml, 0600). */
  kubeadm?: { path: string; content: string };
  /** The rewritten CNI manifest, on the node that applies it. */
  cni?: string;
}

/** The install scripts in the order create runs them. */
export function nodeScripts(input: RenderInput): { name: string; script: Script }[] {
  return [
    { name: 'os', script: osPrepareScript(input) },
    { name: 'runtime', script: runtimeInstallScript(input) },
    { name: 'kube', script: kubeInstallScript(input) },
  ];
}

/** A script as a file a person can run by hand: the interpreter line and options runCommandLine uses. */
export function scriptFile(name: string, s: Script): NodeFile {
  return {
    path: `${SCRIPTS_DIR}/${name}.sh`,
    mode: 0o700,
    content: `#!/bin/bash\nset -euo pipefail\n${s.text}`,
  };
}

export function renderedFiles(input: RenderInput, extra: NodeFileExtras = {}): NodeFile[] {
  const files = [...osFiles(input), ...runtimeFiles(input), ...kubeletFiles(input)];
  if (extra.haproxy) {
    files.push(
      { path: HAPROXY_CONFIG, mode: 0o644, content: haproxyConfig(input) },
      { path: HAPROXY_MANIFEST, mode: 0o600, content: haproxyManifest(input) },
    );
  }
  if (extra.kubeadm) files.push({ ...extra.kubeadm, mode: 0o600 });
  if (extra.cni !== undefined) {
    files.push({
      path: `${CNI_MANIFEST_DIR}/${input.spec.network.cni}.yaml`,
      mode: 0o644,
      content: extra.cni,
    });
  }
  for (const { name, script } of nodeScripts(input)) files.push(scriptFile(name, script));
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
