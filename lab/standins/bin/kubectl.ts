/**
 * kubectl stand-in for the subcommands kubeon runs on nodes: get, apply -f, delete, drain, cordon,
 * uncordon, label, version. It talks to the apiserver stand-in over TLS with the kubeconfig's
 * credentials, with kubectl's flags and messages.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { stringify } from 'yaml';
import { CallLog } from '../lib/calllog.js';
import { ApiClient, ApiError } from '../lib/client.js';
import { type Doc, parseYamlDocs } from '../lib/config.js';
import {
  bool,
  FlagError,
  type FlagTable,
  flag,
  list,
  type ParsedFlags,
  parseFlags,
  str,
} from '../lib/flags.js';
import { readKubeconfig } from '../lib/kubeconfig.js';
import { apiPath, byKind, byResource, type ResourceInfo } from '../lib/resources.js';
import { builtVersion } from '../lib/versions.js';

const VERSION = builtVersion();
const log = new CallLog('kubectl', VERSION.text);
const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

const GLOBAL: FlagTable = {
  kubeconfig: flag.str(),
  context: flag.str(),
  cluster: flag.str(),
  user: flag.str(),
  server: flag.str('s'),
  namespace: flag.str('n'),
  'request-timeout': flag.str(),
  'insecure-skip-tls-verify': flag.bool(),
  'tls-server-name': flag.str(),
  'certificate-authority': flag.str(),
  'client-certificate': flag.str(),
  'client-key': flag.str(),
  token: flag.str(),
  v: flag.str('v'),
  help: flag.bool('h'),
};

const COMMANDS: Record<string, FlagTable> = {
  version: { client: flag.bool(), output: flag.str('o') },
  get: {
    output: flag.str('o'),
    selector: flag.str('l'),
    'field-selector': flag.str(),
    'all-namespaces': flag.bool('A'),
    'no-headers': flag.bool(),
    'show-labels': flag.bool(),
    watch: flag.bool('w'),
    'ignore-not-found': flag.bool(),
    filename: flag.list(),
  },
  apply: {
    filename: { kind: 'strings', short: 'f' },
    recursive: flag.bool('R'),
    'server-side': flag.bool(),
    'force-conflicts': flag.bool(),
    'field-manager': flag.str(),
    'dry-run': flag.str(),
    validate: flag.str(),
    output: flag.str('o'),
    wait: flag.bool(),
    prune: flag.bool(),
    selector: flag.str('l'),
  },
  delete: {
    filename: { kind: 'strings', short: 'f' },
    'ignore-not-found': flag.bool(),
    wait: flag.bool(),
    'grace-period': flag.int(),
    force: flag.bool(),
    timeout: flag.dur(),
    selector: flag.str('l'),
    all: flag.bool(),
    now: flag.bool(),
  },
  drain: {
    'ignore-daemonsets': flag.bool(),
    'delete-emptydir-data': flag.bool(),
    force: flag.bool(),
    'grace-period': flag.int(),
    timeout: flag.dur(),
    'disable-eviction': flag.bool(),
    'pod-selector': flag.str(),
    selector: flag.str('l'),
    'skip-wait-for-delete-timeout': flag.int(),
    'chunk-size': flag.int(),
    'dry-run': flag.str(),
  },
  cordon: { selector: flag.str('l'), 'dry-run': flag.str() },
  uncordon: { selector: flag.str('l'), 'dry-run': flag.str() },
  label: {
    overwrite: flag.bool(),
    selector: flag.str('l'),
    all: flag.bool(),
    'dry-run': flag.str(),
    list: flag.bool(),
  },
};

const ALIASES: Record<string, string> = {
  no: 'nodes',
  node: 'nodes',
  po: 'pods',
  pod: 'pods',
  svc: 'services',
  service: 'services',
  ns: 'namespaces',
  namespace: 'namespaces',
  cm: 'configmaps',
  configmap: 'configmaps',
  secret: 'secrets',
  ep: 'endpoints',
  endpointslice: 'endpointslices',
  lease: 'leases',
  ds: 'daemonsets',
  daemonset: 'daemonsets',
  deploy: 'deployments',
  deployment: 'deployments',
  sa: 'serviceaccounts',
  serviceaccount: 'serviceaccounts',
  csr: 'certificatesigningrequests',
  rs: 'replicasets',
  sts: 'statefulsets',
  crd: 'customresourcedefinitions',
  event: 'events',
  ev: 'events',
};

function resourceInfo(word: string): ResourceInfo {
  const [name, group = ''] = word.toLowerCase().split(/\.(.*)/s);
  const plural = ALIASES[name!] ?? name!;
  const groups = group
    ? [group]
    : [
        '',
        'apps',
        'coordination.k8s.io',
        'discovery.k8s.io',
        'certificates.k8s.io',
        'rbac.authorization.k8s.io',
        'policy',
        'apiextensions.k8s.io',
        'storage.k8s.io',
        'batch',
        'networking.k8s.io',
        'scheduling.k8s.io',
        'admissionregistration.k8s.io',
      ];
  for (const g of groups) {
    const r = byResource(g, plural);
    if (r) return r;
  }
  throw new FlagError(`the server doesn't have a resource type "${word}"`);
}

function client(g: ParsedFlags): ApiClient {
  const path = str(g, 'kubeconfig') ?? process.env.KUBECONFIG?.split(':')[0] ?? `${homedir()}/.kube/config`;
  if (!existsSync(path) && !str(g, 'server')) {
    throw new FlagError(
      'The connection to the server localhost:8080 was refused - did you specify the right host or port?',
    );
  }
  const creds = existsSync(path) ? readKubeconfig(path, str(g, 'context')) : { server: str(g, 'server')! };
  if (str(g, 'server')) creds.server = str(g, 'server')!;
  if (str(g, 'tls-server-name')) creds.tlsServerName = str(g, 'tls-server-name')!;
  if (bool(g, 'insecure-skip-tls-verify')) creds.insecure = true;
  if (str(g, 'certificate-authority')) creds.caPem = readFileSync(str(g, 'certificate-authority')!, 'utf8');
  if (str(g, 'client-certificate')) creds.certPem = readFileSync(str(g, 'client-certificate')!, 'utf8');
  if (str(g, 'client-key')) creds.keyPem = readFileSync(str(g, 'client-key')!, 'utf8');
  if (str(g, 'token')) creds.token = str(g, 'token')!;
  return new ApiClient(creds);
}

function age(ts: unknown): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(String(ts))) / 1000));
  if (Number.isNaN(s)) return '<unknown>';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

type Obj = Doc & { metadata: Doc & { name: string; namespace?: string; labels?: Record<string, string> } };

function evalPath(v: unknown, path: string): unknown[] {
  let cur: unknown[] = [v];
  for (const m of path.matchAll(/\.([^.[\]]+)|\[(\*|\d+)\]/g)) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (m[1] !== undefined) {
        if (c && typeof c === 'object') next.push((c as Doc)[m[1]]);
      } else if (m[2] === '*') {
        if (Array.isArray(c)) next.push(...c);
        else if (c && typeof c === 'object') next.push(...Object.values(c));
      } else if (Array.isArray(c)) next.push(c[Number(m[2])]);
    }
    cur = next.filter((x) => x !== undefined);
  }
  return cur;
}

function jsonpath(tpl: string, data: unknown): string {
  const tokens = [...tpl.matchAll(/\{([^}]*)\}|([^{]+)/g)];
  const render = (from: number, to: number, ctx: unknown): string => {
    let s = '';
    for (let i = from; i < to; i++) {
      const [, expr, lit] = tokens[i]!;
      if (lit !== undefined) {
        s += lit;
        continue;
      }
      const e = expr!.trim();
      if (e.startsWith('range ')) {
        let depth = 1;
        let j = i + 1;
        for (; j < to; j++) {
          const x = tokens[j]![1]?.trim();
          if (x?.startsWith('range ')) depth++;
          if (x === 'end' && --depth === 0) break;
        }
        for (const item of evalPath(ctx, e.slice(6).trim())) s += render(i + 1, j, item);
        i = j;
      } else if (e.startsWith('"')) s += JSON.parse(e) as string;
      else
        s += evalPath(ctx, e === '@' ? '' : e)
          .map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x)))
          .join(' ');
    }
    return s;
  };
  return render(0, tokens.length, data);
}

function printObjects(
  info: ResourceInfo,
  items: Obj[],
  f: ParsedFlags,
  allNs: boolean,
  single: boolean,
): void {
  const o = str(f, 'output') ?? '';
  const wrapped =
    single && items.length === 1
      ? items[0]
      : { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
  if (o === 'json' || o === 'yaml') {
    out(o === 'json' ? JSON.stringify(wrapped, null, 4) : stringify(wrapped, { version: '1.1' }).trimEnd());
    return;
  }
  if (o === 'name') {
    for (const i of items)
      out(
        `${info.group ? `${info.resource.replace(/s$/, '')}.${info.group}` : info.resource.replace(/s$/, '')}/${i.metadata.name}`,
      );
    return;
  }
  if (o.startsWith('jsonpath=')) {
    process.stdout.write(jsonpath(o.slice(9), wrapped));
    return;
  }
  if (o && o !== 'wide')
    throw new FlagError(
      `unable to match a printer suitable for the output format "${o}", allowed formats are: json,jsonpath,name,wide,yaml`,
    );
  const rows: string[][] = [];
  let header: string[];
  if (info.resource === 'nodes') {
    header = [
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      ...(o === 'wide' ? ['INTERNAL-IP', 'CONTAINER-RUNTIME'] : []),
    ];
    for (const n of items) {
      const st = n.status as Doc | undefined;
      const ready = ((st?.conditions as Doc[] | undefined) ?? []).find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : ready?.status === 'Unknown' ? 'NotReady' : 'NotReady';
      if ((n.spec as Doc | undefined)?.unschedulable) status += ',SchedulingDisabled';
      const roles =
        Object.keys(n.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.slice(24))
          .join(',') || '<none>';
      const ni = (st?.nodeInfo ?? {}) as Doc;
      const ip = ((st?.addresses as Doc[] | undefined) ?? []).find((a) => a.type === 'InternalIP')?.address;
      rows.push([
        n.metadata.name,
        status,
        roles,
        age(n.metadata.creationTimestamp),
        String(ni.kubeletVersion ?? ''),
        ...(o === 'wide' ? [String(ip ?? '<none>'), String(ni.containerRuntimeVersion ?? '')] : []),
      ]);
    }
  } else if (info.resource === 'pods') {
    header = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(o === 'wide' ? ['IP', 'NODE'] : [])];
    for (const p of items) {
      const st = (p.status ?? {}) as Doc;
      const cs = (st.containerStatuses as Doc[] | undefined) ?? [];
      const waiting = cs
        .map((c) => (c.state as Doc | undefined)?.waiting as Doc | undefined)
        .find((w) => w)?.reason;
      rows.push([
        p.metadata.name,
        `${cs.filter((c) => c.ready).length}/${cs.length || ((p.spec as Doc)?.containers as unknown[] | undefined)?.length || 0}`,
        String(waiting ?? st.phase ?? 'Pending'),
        String(cs.reduce((a, c) => a + Number(c.restartCount ?? 0), 0)),
        age(p.metadata.creationTimestamp),
        ...(o === 'wide'
          ? [String(st.podIP ?? '<none>'), String((p.spec as Doc | undefined)?.nodeName ?? '<none>')]
          : []),
      ]);
    }
  } else {
    header = ['NAME', 'AGE'];
    for (const i of items) rows.push([i.metadata.name, age(i.metadata.creationTimestamp)]);
  }
  if (allNs) {
    header.unshift('NAMESPACE');
    rows.forEach((r, k) => {
      r.unshift(items[k]!.metadata.namespace ?? '');
    });
  }
  if (bool(f, 'show-labels')) {
    header.push('LABELS');
    rows.forEach((r, k) => {
      r.push(
        Object.entries(items[k]!.metadata.labels ?? {})
          .map(([a, b]) => `${a}=${b}`)
          .join(',') || '<none>',
      );
    });
  }
  if (!items.length) {
    process.stderr.write(
      allNs || !info.namespaced
        ? 'No resources found\n'
        : `No resources found in ${items[0]?.metadata.namespace ?? 'default'} namespace.\n`,
    );
    return;
  }
  const all = bool(f, 'no-headers') ? rows : [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  for (const r of all)
    out(
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3)))
        .join('')
        .trimEnd(),
    );
}

async function cmdGet(api: ApiClient, f: ParsedFlags, ns: string): Promise<void> {
  if (bool(f, 'watch')) throw new FlagError('[stand-in] watch is not supported by the apiserver stand-in');
  const [what, ...names] = f.args;
  if (!what) throw new FlagError('You must specify the type of resource to get.');
  const [type, inlineName] = what.split('/');
  const info = resourceInfo(type!);
  const allNs = bool(f, 'all-namespaces') && info.namespaced;
  const wanted = inlineName ? [inlineName, ...names] : names;
  if (wanted.length) {
    const items: Obj[] = [];
    for (const n of wanted) {
      try {
        items.push(await api.get<Obj>(apiPath(info, ns, n)));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && bool(f, 'ignore-not-found')) continue;
        throw e;
      }
    }
    return printObjects(info, items, f, false, wanted.length === 1);
  }
  const q = new URLSearchParams();
  if (str(f, 'selector')) q.set('labelSelector', str(f, 'selector')!);
  if (str(f, 'field-selector')) q.set('fieldSelector', str(f, 'field-selector')!);
  let path = apiPath(info, ns);
  if (allNs) path = path.replace(`/namespaces/${ns}`, '');
  const listed = await api.get<{ items: Obj[] }>(`${path}${q.size ? `?${q}` : ''}`);
  printObjects(info, listed.items, f, allNs, false);
}

function readManifests(files: string[], recursive: boolean): Doc[] {
  const docs: Doc[] = [];
  const load = (p: string) => {
    if (p === '-') return docs.push(...parseYamlDocs(readFileSync(0, 'utf8'), 'STDIN'));
    if (!existsSync(p)) throw new FlagError(`the path "${p}" does not exist`);
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        const child = `${p}/${e}`;
        if (statSync(child).isDirectory() ? recursive : /\.(ya?ml|json)$/.test(e)) load(child);
      }
      return;
    }
    const text = readFileSync(p, 'utf8');
    log.noteConfig(p, text);
    for (const d of parseYamlDocs(text, p)) {
      if (d.kind === 'List' && Array.isArray(d.items)) docs.push(...(d.items as Doc[]));
      else docs.push(d);
    }
  };
  for (const f of files) load(f);
  return docs;
}

async function cmdApply(api: ApiClient, f: ParsedFlags, ns: string): Promise<void> {
  const files = list(f, 'filename');
  if (!files.length) throw new FlagError('must specify one of -f and -k');
  const serverSide = bool(f, 'server-side');
  const manager = str(f, 'field-manager') ?? (serverSide ? 'kubectl' : 'kubectl-client-side-apply');
  for (const d of readManifests(files, bool(f, 'recursive'))) {
    if (!d.apiVersion || !d.kind)
      throw new FlagError(
        'error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false',
      );
    const info = byKind(String(d.apiVersion), String(d.kind));
    const meta = (d.metadata ?? {}) as Doc;
    const name = String(meta.name ?? '');
    const docNs = String(meta.namespace ?? ns);
    const path = apiPath(info, docNs, name);
    const existing = await api.find(path);
    const q = `?fieldManager=${encodeURIComponent(manager)}${bool(f, 'force-conflicts') ? '&force=true' : ''}`;
    await api.call('PATCH', `${path}${q}`, JSON.stringify(d), 'application/apply-patch+yaml');
    const kind = String(d.kind).toLowerCase();
    const label = info.group ? `${kind}.${info.group}/${name}` : `${kind}/${name}`;
    out(`${label} ${serverSide ? 'serverside-applied' : existing ? 'configured' : 'created'}`);
  }
}

async function cmdDelete(api: ApiClient, f: ParsedFlags, ns: string): Promise<void> {
  const targets: { info: ResourceInfo; ns: string; name: string }[] = [];
  if (list(f, 'filename').length) {
    for (const d of readManifests(list(f, 'filename'), false)) {
      const meta = (d.metadata ?? {}) as Doc;
      targets.push({
        info: byKind(String(d.apiVersion), String(d.kind)),
        ns: String(meta.namespace ?? ns),
        name: String(meta.name),
      });
    }
  } else {
    const [what, ...names] = f.args;
    if (!what) throw new FlagError('You must provide one or more resources by argument or filename.');
    const [type, inline] = what.split('/');
    const info = resourceInfo(type!);
    for (const n of inline ? [inline, ...names] : names) targets.push({ info, ns, name: n });
    if (!targets.length) throw new FlagError('resource(s) were provided, but no name was specified');
  }
  for (const t of targets) {
    try {
      await api.call('DELETE', apiPath(t.info, t.ns, t.name));
      out(`${t.info.resource.replace(/s$/, '')} "${t.name}" deleted`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404 && bool(f, 'ignore-not-found')) continue;
      throw e;
    }
  }
}

async function setUnschedulable(api: ApiClient, node: string, value: boolean): Promise<void> {
  const n = await api.get<Obj>(`/api/v1/nodes/${node}`);
  const cur = (n.spec as Doc | undefined)?.unschedulable === true;
  if (cur === value) {
    out(`node/${node} already ${value ? 'cordoned' : 'uncordoned'}`);
    return;
  }
  await api.call(
    'PATCH',
    `/api/v1/nodes/${node}`,
    { spec: { unschedulable: value ? true : null } },
    'application/strategic-merge-patch+json',
  );
  out(`node/${node} ${value ? 'cordoned' : 'uncordoned'}`);
}

async function cmdDrain(api: ApiClient, f: ParsedFlags): Promise<void> {
  const node = f.args[0];
  if (!node) throw new FlagError('USAGE: drain NODE [flags]');
  await setUnschedulable(api, node, true);
  const pods = await api.get<{ items: Obj[] }>(
    `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
  );
  const problems: string[] = [];
  const evict: Obj[] = [];
  const ignored: string[] = [];
  for (const p of pods.items) {
    const ann = (p.metadata.annotations ?? {}) as Record<string, string>;
    if (ann['kubernetes.io/config.mirror']) continue;
    const owner = ((p.metadata.ownerReferences as Doc[] | undefined) ?? []).find((o) => o.controller);
    if (owner?.kind === 'DaemonSet') {
      if (!bool(f, 'ignore-daemonsets'))
        problems.push(
          `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${p.metadata.namespace}/${p.metadata.name}`,
        );
      else ignored.push(`${p.metadata.namespace}/${p.metadata.name}`);
      continue;
    }
    if (!owner && !bool(f, 'force'))
      problems.push(
        `cannot delete Pods that declare no controller (use --force to override): ${p.metadata.namespace}/${p.metadata.name}`,
      );
    const vols = (((p.spec as Doc | undefined)?.volumes as Doc[] | undefined) ?? []).filter(
      (v) => v.emptyDir,
    );
    if (vols.length && !bool(f, 'delete-emptydir-data'))
      problems.push(
        `cannot delete Pods with local storage (use --delete-emptydir-data to override): ${p.metadata.namespace}/${p.metadata.name}`,
      );
    evict.push(p);
  }
  if (problems.length) {
    throw new FlagError(
      `unable to drain node "${node}" due to error: [${problems.join(', ')}], continuing command...\nThere are pending nodes to be drained:\n ${node}`,
    );
  }
  if (ignored.length)
    process.stderr.write(`Warning: ignoring DaemonSet-managed Pods: ${ignored.join(', ')}\n`);
  for (const p of evict) {
    out(`evicting pod ${p.metadata.namespace}/${p.metadata.name}`);
    const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
    if (bool(f, 'disable-eviction')) await api.call('DELETE', path);
    else
      await api.call('POST', `${path}/eviction`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
      });
    out(`pod/${p.metadata.name} evicted`);
  }
  log.write('drained', { node, evicted: evict.map((p) => p.metadata.name) });
  out(`node/${node} drained`);
}

async function cmdLabel(api: ApiClient, f: ParsedFlags, ns: string): Promise<void> {
  const [what, ...rest] = f.args;
  if (!what)
    throw new FlagError('one or more resources must be specified as <resource> <name> or <resource>/<name>');
  const [type, inline] = what.split('/');
  const info = resourceInfo(type!);
  const name = inline ?? rest.shift();
  if (!name)
    throw new FlagError('one or more resources must be specified as <resource> <name> or <resource>/<name>');
  const obj = await api.get<Obj>(apiPath(info, ns, name));
  const labels: Record<string, string | null> = {};
  for (const l of rest) {
    if (l.endsWith('-')) labels[l.slice(0, -1)] = null;
    else {
      const [k, v = ''] = l.split(/=(.*)/s);
      const have = obj.metadata.labels?.[k!];
      if (have !== undefined && have !== v && !bool(f, 'overwrite'))
        throw new FlagError(`'${k}' already has a value (${have}), and --overwrite is false`);
      labels[k!] = v;
    }
  }
  if (!Object.keys(labels).length) throw new FlagError('at least one label update is required');
  await api.call('PATCH', apiPath(info, ns, name), { metadata: { labels } }, 'application/merge-patch+json');
  out(`${info.resource.replace(/s$/, '')}/${name} labeled`);
}

async function main(argv: string[]): Promise<void> {
  const cmdAt = argv.findIndex(
    (a, i) =>
      !a.startsWith('-') &&
      !(
        argv[i - 1] &&
        /^--?(kubeconfig|context|cluster|user|server|s|namespace|n|request-timeout|tls-server-name|certificate-authority|client-certificate|client-key|token|v)$/.test(
          argv[i - 1]!,
        )
      ),
  );
  const cmd = cmdAt < 0 ? undefined : argv[cmdAt]!;
  if (!cmd)
    throw new FlagError(
      'kubectl controls the Kubernetes cluster manager.\n\nUsage: kubectl [flags] [options]',
    );
  const table = COMMANDS[cmd];
  if (!table) throw new FlagError(`unknown command "${cmd}" for "kubectl"`);
  const f = parseFlags([...argv.slice(0, cmdAt), ...argv.slice(cmdAt + 1)], { ...GLOBAL, ...table });
  log.write('call', { argv, command: cmd });
  const ns = str(f, 'namespace') ?? 'default';
  if (cmd === 'version') {
    out(`Client Version: ${VERSION.text}\nKustomize Version: v5.4.2`);
    if (bool(f, 'client')) return;
    const v = await client(f).get<{ gitVersion: string }>('/version');
    out(`Server Version: ${v.gitVersion}`);
    return;
  }
  const api = client(f);
  switch (cmd) {
    case 'get':
      return cmdGet(api, f, ns);
    case 'apply':
      return cmdApply(api, f, ns);
    case 'delete':
      return cmdDelete(api, f, ns);
    case 'drain':
      return cmdDrain(api, f);
    case 'cordon':
    case 'uncordon':
      for (const n of f.args) await setUnschedulable(api, n, cmd === 'cordon');
      return;
    case 'label':
      return cmdLabel(api, f, ns);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    const msg =
      e instanceof ApiError
        ? `Error from server (${e.reason ?? e.status}): ${e.message}`
        : `error: ${(e as Error).message}`;
    process.stderr.write(`${msg}\n`);
    log.write('failed', { error: msg });
    process.exit(1);
  },
);
