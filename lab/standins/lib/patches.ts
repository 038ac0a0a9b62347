/**
 * kubeadm's --patches / patches.directory (cmd/kubeadm/app/util/patches/patches.go): files named
 * `target[suffix][+patchtype].extension` in the directory (sub-directories walked, lexical order),
 * each holding one or more YAML/JSON documents, applied in turn to the target as a strategic merge
 * (default), a JSON merge (RFC 7386) or a JSON patch (RFC 6902). Files with another extension or
 * target are ignored with kubeadm's notice; a `+` without a known type fails.
 *
 * Strategic merge is a subset of apimachinery's strategicpatch: maps merge, `null` deletes, and the
 * lists of the patched kinds that carry a patchMergeKey in the Go types (containers and volumes by
 * name, volumeMounts by mountPath, env by name, ports by containerPort) merge by key; other lists are
 * replaced. `$patch: delete` on a keyed list item deletes it; any other directive is refused by the
 * stand-in rather than ignored.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type PatchType =
  | 'application/json-patch+json'
  | 'application/merge-patch+json'
  | 'application/strategic-merge-patch+json';

const TYPES: Record<string, PatchType> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  '': 'application/strategic-merge-patch+json',
};

export interface PatchSet {
  target: string;
  type: PatchType;
  /** each document of the file, as JSON text (kubeadm converts YAML to JSON) */
  patches: string[];
}

/** The patch targets each kubeadm knows: kubeletconfiguration since 1.25, corednsdeployment since 1.32. */
export function knownTargets(minor: number): string[] {
  const t = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'kubeletconfiguration'];
  if (minor >= 32) t.push('corednsdeployment');
  return t;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Reads the patch directory as GetPatchManagerForPath does; `say` gets kubeadm's [patches] lines. */
export function readPatches(dir: string, targets: string[], say: (line: string) => void): PatchSet[] {
  say(`[patches] Reading patches from path "${dir}"`);
  const fail = (why: string) => new Error(`could not list patch files for path "${dir}": ${why}`);
  if (!existsSync(dir)) throw fail(`lstat ${dir}: no such file or directory`);
  if (!lstatSync(dir).isDirectory()) throw fail('not a directory');
  const sets: PatchSet[] = [];
  const found: string[] = [];
  const ignored: string[] = [];
  const nameRe = new RegExp(`^(${targets.join('|')})([^.+\\n]*)?(\\+)?(json|merge|strategic)?`);
  for (const path of walk(dir)) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    let warn: string | undefined;
    const m = nameRe.exec(base);
    if (!/.+\.(json|yaml)$/.test(base)) warn = 'the file extension must be one of [json yaml]';
    else if (!m) warn = `unknown target, must be one of [${targets.join(' ')}]`;
    if (warn) {
      say(`[patches] Ignoring file "${base}": ${warn}`);
      ignored.push(base);
      continue;
    }
    if (m![3] && !m![4])
      throw fail("unknown or missing patch type after '+', must be one of [json merge strategic]");
    const text = readFileSync(path, 'utf8');
    if (!text.length) {
      say(`[patches] Ignoring empty file: "${base}"`);
      ignored.push(base);
      continue;
    }
    const patches: string[] = [];
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length)
        throw fail(
          `could not convert patch to JSON:\n${doc.toString()}\n: ${doc.errors[0]!.message.split('\n')[0]}`,
        );
      const v = doc.toJS();
      if (v === null || v === undefined) continue;
      patches.push(JSON.stringify(v));
    }
    found.push(base);
    sets.push({ target: m![1]!, type: TYPES[m![4] ?? '']!, patches });
  }
  if (found.length) say(`[patches] Found the following patch files: [${found.join(' ')}]`);
  if (ignored.length) say(`[patches] Ignored the following files: [${ignored.join(' ')}]`);
  return sets;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[], op: string, path: string): Obj | Json[] {
  let cur: Json = doc;
  for (const p of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (next === undefined)
      throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    cur = next;
  }
  if (!isObj(cur) && !Array.isArray(cur))
    throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  return cur;
}

function getAt(doc: Json, path: string, op: string): Json {
  let cur: Json | undefined = doc;
  for (const p of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObj(cur) ? cur[p] : undefined;
    if (cur === undefined)
      throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
  }
  return cur as Json;
}

function removeAt(doc: Json, path: string, op: string): Json {
  const parts = pointer(path);
  const parent = parentOf(doc, parts, op, path);
  const key = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length)
      throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    return parent.splice(i, 1)[0]!;
  }
  if (!(key in parent))
    throw new Error(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
  const v = parent[key]!;
  delete parent[key];
  return v;
}

function addAt(doc: Json, path: string, value: Json, op: string, replace: boolean): Json {
  const parts = pointer(path);
  if (!parts.length) return value;
  const parent = parentOf(doc, parts, op, path);
  const key = parts[parts.length - 1]!;
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length))
      throw new Error(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    parent.splice(i, replace ? 1 : 0, value);
  } else {
    if (replace && !(key in parent))
      throw new Error(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
    parent[key] = value;
  }
  return doc;
}

/** RFC 6902. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops))
    throw new Error('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: Json = structuredClone(target);
  for (const raw of ops) {
    if (!isObj(raw)) throw new Error('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    const op = String(raw.op ?? '');
    const path = String(raw.path ?? '');
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw.value ?? null), op, false);
        break;
      case 'replace':
        doc = addAt(doc, path, structuredClone(raw.value ?? null), op, true);
        break;
      case 'remove':
        removeAt(doc, path, op);
        break;
      case 'move':
        doc = addAt(doc, path, removeAt(doc, String(raw.from ?? ''), op), op, false);
        break;
      case 'copy':
        doc = addAt(doc, path, structuredClone(getAt(doc, String(raw.from ?? ''), op)), op, false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path, op)) !== JSON.stringify(raw.value ?? null))
          throw new Error(`testing value ${path} failed: test failed`);
        break;
      default:
        throw new Error(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/** patchMergeKey of the list fields in core/v1 and apps/v1 that these targets contain. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  env: 'name',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
};

function strategicList(field: string, target: Json[], patch: Json[]): Json[] {
  const key = MERGE_KEYS[field];
  if (!key || !patch.every(isObj)) return patch;
  const out = target.map((t) => structuredClone(t));
  for (const item of patch as Obj[]) {
    const at = out.findIndex((t) => isObj(t) && t[key] === item[key]);
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) out[at] = strategicMerge(out[at]!, item);
    else out.push(strategicMerge({}, item));
  }
  return out;
}

/** The subset of strategicpatch.StrategicMergePatch the kubeadm targets need (see the file comment). */
export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$'))
      throw new Error(`[stand-in] the strategic merge directive "${k}" is not implemented by the stand-in`);
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = strategicList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : [], v);
    else if (isObj(v)) out[k] = strategicMerge(out[k] ?? null, v);
    else out[k] = v;
  }
  return out;
}

/** ApplyPatchesToTarget: every patch set for the target, in order; kubeadm's message on failure. */
export function applyPatches(
  target: string,
  data: Json,
  sets: PatchSet[],
  say: (line: string) => void,
): Json {
  let doc = data;
  for (const set of sets) {
    if (set.target !== target) continue;
    for (const patch of set.patches) {
      try {
        const p = JSON.parse(patch) as Json;
        doc =
          set.type === 'application/json-patch+json'
            ? jsonPatch(doc, p)
            : set.type === 'application/merge-patch+json'
              ? mergePatch(doc, p)
              : strategicMerge(doc, p);
      } catch (e) {
        throw new Error(
          `could not apply the following patch of type "${set.type}" to target "${target}":\n${patch}\n: ${(e as Error).message}`,
        );
      }
      say(`[patches] Applied patch of type "${set.type}" to target "${target}"`);
    }
  }
  return doc;
}
