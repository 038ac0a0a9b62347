// `npm run bench:info`: `kubeon info` against an API holding 300 Nodes and 3,000 Pods, side by side
// with `kubectl get nodes,pods -A` on the same API. The API is the lab's apiserver stand-in on a
// one-master lab cluster (real etcd behind it); kubeon runs in-process, so Node's start is not
// counted; kubectl is whichever `kubectl` is on PATH here (its start is counted: it is one Go binary).
// Usage: tsx bench/info.ts [--nodes 300] [--pods 3000] [--runs 5]
//        [--home DIR --cluster NAME [--no-load]]  reuse a cluster kubeon already manages instead of making a lab.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/api.js';
import { testLabId } from '../lab/support/test-id.js';
import { parseKubeconfig } from '../src/pki/kubeconfig.js';
import { kubeon } from '../test/cli/harness.js';
import { createLab, NET_FLAGS } from '../test/create/support.js';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

type Post = (path: string, body: unknown) => Promise<number>;

function poster(kubeconfigPath: string): Post {
  const k = parseKubeconfig(readFileSync(kubeconfigPath, 'utf8'))!;
  const server = new URL(k.server);
  return (path, body) =>
    new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          path,
          method: 'POST',
          ca: k.caPem,
          cert: k.certPem,
          key: k.keyPem,
          servername: k.tlsServerName,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(text);
    });
}

async function inBatches(n: number, width: number, make: (i: number) => Promise<number>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const code = await make(i);
      // 409: already there from an earlier run on the same cluster.
      if (code !== 201 && code !== 409) throw new Error(`object ${i}: HTTP ${code}`);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

async function populate(kubeconfigPath: string, nodes: number, pods: number): Promise<void> {
  const post = poster(kubeconfigPath);
  const node = (i: number) => `bench-node-${String(i).padStart(3, '0')}`;
  await inBatches(nodes, 16, (i) =>
    post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node(i), labels: { 'kubernetes.io/hostname': node(i) } },
    }),
  );
  await inBatches(pods, 16, (i) =>
    post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `bench-pod-${i}`, namespace: 'default', labels: { app: 'bench' } },
      spec: { nodeName: node(i % nodes), containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
    }),
  );
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(0)} ms, median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms`;
}

async function measure(home: string, name: string, env: NodeJS.ProcessEnv, runs: number): Promise<void> {
  const kubeconfig = join(home, 'clusters', name, 'kubeconfig');
  const info: number[] = [];
  let report: { nodes: unknown[]; pods: { total: number }; etcd: { members: unknown[] } } | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await kubeon(['--home', home, 'info', name, '-o', 'json'], env);
    info.push(performance.now() - t);
    if (r.code !== 0) throw new Error(`kubeon info failed: ${r.stderr}`);
    report = JSON.parse(r.stdout);
  }
  const table: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await kubeon(['--home', home, 'info', name], env);
    table.push(performance.now() - t);
    if (r.code !== 0) throw new Error(`kubeon info failed: ${r.stderr}`);
  }
  const kubectl = (extra: string[]) => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes,pods', '-A', ...extra], {
        stdio: ['ignore', 'ignore', 'inherit'],
        maxBuffer: 1 << 30,
      });
      ms.push(performance.now() - t);
    }
    return ms;
  };
  const version = execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  const kv = (JSON.parse(version) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  const plain = kubectl([]);
  const json = kubectl(['-o', 'json']);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`API: the lab's apiserver stand-in (real etcd 3.4 behind it); load average ${load}`);
  console.log(
    `objects: ${report!.nodes.length} Nodes, ${report!.pods.total} Pods; etcd members read through SSH: ${report!.etcd.members.length}`,
  );
  console.log(`kubeon info -o json (in-process, ${runs} runs):  ${stats(info)}`);
  console.log(`kubeon info, screen (in-process, ${runs} runs):  ${stats(table)}`);
  console.log(`kubectl ${kv} get nodes,pods -A:            ${stats(plain)}`);
  console.log(`kubectl ${kv} get nodes,pods -A -o json:    ${stats(json)}`);
}

async function main(): Promise<void> {
  const nodes = Number(arg('nodes', '300'));
  const pods = Number(arg('pods', '3000'));
  const runs = Number(arg('runs', '5'));
  const home = arg('home');
  const cluster = arg('cluster');
  if (home && cluster) {
    const kubeconfig = join(home, 'clusters', cluster, 'kubeconfig');
    // --no-load: the objects are already there from an earlier run.
    if (!process.argv.includes('--no-load')) await populate(kubeconfig, nodes, pods);
    await measure(home, cluster, process.env, runs);
    return;
  }
  const version = 'v1.31.14';
  const id = testLabId('bench-info');
  await labDown(id);
  const [lab, k] = await Promise.all([labUp({ id, system: 1 }), createLab(version)]);
  try {
    const h = lab.hosts[0]!;
    const r = await k.cli(
      'create',
      'bench',
      version,
      '-m',
      h.ip,
      '--default-pk-file',
      h.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    );
    if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
    const t = performance.now();
    await populate(join(k.home, 'clusters', 'bench', 'kubeconfig'), nodes, pods);
    console.log(`loaded ${nodes} Nodes and ${pods} Pods in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await measure(k.home, 'bench', k.env, runs);
  } finally {
    await labDown(id);
    await k.close();
  }
}

await main();
