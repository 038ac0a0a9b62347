/**
 * Loading kubeadm configuration files the way kubeadm's config/initconfiguration.go does: split the
 * YAML documents, require apiVersion and kind, refuse API versions this minor no longer (or not yet)
 * knows, decode each known kind strictly. The stand-in turns strict-decoding problems into failures
 * (the real `kubeadm init/join` only warns; `kubeadm config validate` fails) so a config kubeon
 * renders wrong cannot slip through the lab.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import {
  check,
  type DecodeProblems,
  KUBE_PROXY_CONFIGURATION,
  KUBELET_CONFIGURATION,
  kubeadmShape,
} from './schema.js';
import { kubeadmApis } from './versions.js';

export class ConfigError extends Error {}

export type Doc = Record<string, unknown>;

export interface LoadedConfig {
  api?: 'v1beta3' | 'v1beta4';
  docs: Map<string, Doc>;
  warnings: string[];
  raw: string;
}

const KUBEADM_GROUP = 'kubeadm.k8s.io';

export function parseYamlDocs(text: string, source: string): Doc[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const out: Doc[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length) {
      throw new ConfigError(
        `error converting YAML to JSON: yaml: ${d.errors[0]!.message.split('\n')[0]} (in ${source})`,
      );
    }
    const v = d.toJS();
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new ConfigError(
        `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type map[string]interface {}`,
      );
    }
    out.push(v as Doc);
  }
  return out;
}

function problemsToText(p: DecodeProblems): string[] {
  return p.unknown.map((f) => `strict decoding error: unknown field "${f}"`);
}

/**
 * `wanted` lists the kubeadm kinds the command consumes; other known kubeadm kinds are ignored with
 * kubeadm's warning, anything outside the known groups is refused.
 */
export function loadConfigFile(path: string, minor: number, wanted: string[]): LoadedConfig {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`unable to read config from "${path}" : open ${path}: no such file or directory`);
  }
  return loadConfigText(raw, path, minor, wanted);
}

export function loadConfigText(raw: string, source: string, minor: number, wanted: string[]): LoadedConfig {
  const { accepted, deprecated } = kubeadmApis(minor);
  const out: LoadedConfig = { docs: new Map(), warnings: [], raw };
  for (const doc of parseYamlDocs(raw, source)) {
    const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
    const kind = typeof doc.kind === 'string' ? doc.kind : '';
    if (!apiVersion || !kind) {
      throw new ConfigError(
        `invalid configuration for GroupVersionKind ${apiVersion || '/'}, Kind=${kind}: kind and apiVersion is mandatory information that must be specified`,
      );
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const gvk = `${apiVersion}, Kind=${kind}`;
    let shapeProblems: DecodeProblems = { unknown: [], fatal: [] };
    if (group === KUBEADM_GROUP) {
      if (
        ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1beta1', 'v1beta2'].includes(version!) ||
        (version === 'v1beta3' && !accepted.includes('v1beta3'))
      ) {
        throw new ConfigError(
          `your configuration file uses an old API spec: "${apiVersion}". Please use kubeadm v1.${minor - 1} instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.`,
        );
      }
      if (!accepted.includes(version!)) {
        throw new ConfigError(
          `no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`,
        );
      }
      const shape = kubeadmShape(version!, kind);
      if (!shape) {
        throw new ConfigError(
          `no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`,
        );
      }
      if (deprecated.includes(version!)) {
        out.warnings.push(
          `W: your configuration file uses a deprecated API spec: "${apiVersion}" (kind: "${kind}"). Please use 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec using a newer API version.`,
        );
      }
      if (out.api && out.api !== version) {
        throw new ConfigError(
          `[stand-in] the config mixes kubeadm API versions ${out.api} and ${version}; kubeadm converts each, but a renderer that does this is confused`,
        );
      }
      out.api = version as 'v1beta3' | 'v1beta4';
      check(doc, shape, '', kind, shapeProblems);
      if (!wanted.includes(kind)) {
        out.warnings.push(`[config] WARNING: Ignored YAML document with GroupVersionKind ${gvk}`);
        continue;
      }
    } else if (apiVersion === 'kubelet.config.k8s.io/v1beta1' && kind === 'KubeletConfiguration') {
      check(doc, KUBELET_CONFIGURATION, '', kind, shapeProblems);
    } else if (apiVersion === 'kubeproxy.config.k8s.io/v1alpha1' && kind === 'KubeProxyConfiguration') {
      check(doc, KUBE_PROXY_CONFIGURATION, '', kind, shapeProblems);
    } else {
      throw new ConfigError(
        `[stand-in] unknown document: GroupVersionKind ${gvk} (the real kubeadm prints "[config] WARNING: Ignored YAML document with GroupVersionKind ${gvk}" and drops it; a document kubeon rendered must not be silently dropped)`,
      );
    }
    if (shapeProblems.fatal.length) {
      throw new ConfigError(`error unmarshaling JSON: while decoding JSON: ${shapeProblems.fatal[0]}`);
    }
    const unknown = problemsToText(shapeProblems);
    if (unknown.length) {
      throw new ConfigError(
        `${gvk}: ${unknown.join(', ')} [stand-in: the real kubeadm only warns about this outside 'kubeadm config validate', and then ignores the field]`,
      );
    }
    if (out.docs.has(kind)) throw new ConfigError(`[stand-in] more than one ${kind} document in ${source}`);
    out.docs.set(kind, doc);
    shapeProblems = { unknown: [], fatal: [] };
  }
  return out;
}

/** extraArgs in either API's spelling, as ordered name/value pairs. */
export function extraArgs(v: unknown): [string, string][] {
  if (Array.isArray(v)) return v.map((a) => [String((a as Doc).name), String((a as Doc).value ?? '')]);
  if (v && typeof v === 'object') return Object.entries(v as Doc).map(([k, val]) => [k, String(val)]);
  return [];
}

export function get(doc: Doc | undefined, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Doc)[part];
  }
  return cur;
}

export function getStr(doc: Doc | undefined, path: string): string | undefined {
  const v = get(doc, path);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A v1beta3 ClusterConfiguration in v1beta4 terms, as kubeadm's conversion writes it back on upgrade:
 * extraArgs maps become sorted name/value lists and apiServer.timeoutForControlPlane goes away (it
 * moved to InitConfiguration.timeouts).
 */
export function clusterToV1beta4(doc: Doc): Doc {
  const out = structuredClone(doc);
  out.apiVersion = 'kubeadm.k8s.io/v1beta4';
  const toList = (holder: unknown) => {
    const h = holder as Doc | undefined;
    const args = h?.extraArgs;
    if (!h || !args || Array.isArray(args) || typeof args !== 'object') return;
    h.extraArgs = Object.keys(args as Doc)
      .sort()
      .map((name) => ({ name, value: String((args as Doc)[name]) }));
  };
  for (const path of ['apiServer', 'controllerManager', 'scheduler', 'etcd.local']) toList(get(out, path));
  const api = out.apiServer as Doc | undefined;
  if (api) delete api.timeoutForControlPlane;
  return out;
}
