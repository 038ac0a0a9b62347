import type { Host } from '../../cluster/host.js';
import { raw, type Script, type ShellFragment, script, sh } from '../../fleet/script.js';
import { putFiles } from '../../render/files.js';
import {
  INIT_CONFIG_PATH,
  JOIN_CONFIG_PATH,
  kubeadmInitConfig,
  kubeadmJoinConfig,
} from '../../render/kubeadm.js';
import type { NodeResult, Phase } from '../phase.js';
import {
  type CreateContext,
  type CreateData,
  caCertHash,
  failedResult,
  firstMaster,
  masters,
  newBootstrapToken,
  newCertificateKey,
  renderInput,
  runOn,
  workers,
} from './data.js';
import { hostsScript, joinResolve } from './node-setup.js';

/**
 * kubeadm on the nodes: init on the first master, the other masters joined one at a time (etcd
 * takes one learner at a time, and a joining master must reach a live API server), then the workers
 * in parallel batches. Configs come from src/render/kubeadm.ts and are checked on the node with
 * `kubeadm config validate` first. Secrets reach nodes only inside files (0600) and scripts, never argv.
 */

const KUBEADM_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_WORKER_BATCH = 50;

/** Files on each node proving a phase's result; checked without changing anything. */
async function nodesWithFiles(ctx: CreateContext, hosts: Host[], files: string[]): Promise<Set<string>> {
  if (hosts.length === 0) return new Set();
  const test = files.map((f) => sh`test -e ${f}`.text).join(' && ');
  const results = await ctx.fleet.query(
    hosts.map((h) => h.target),
    'probe kubeadm state',
    `if ${test}; then echo yes; else echo no; fi`,
    { sudo: Boolean(ctx.data.settings.sudo) },
  );
  const out = new Set<string>();
  for (const [i, r] of results.entries())
    if (!r.error && r.stdout.trim() === 'yes') out.add(hosts[i]!.node.name);
  return out;
}

/**
 * What a failed worker join leaves: kubeadm's kubelet-start phase writes the CA and the bootstrap
 * kubeconfig before it asks the API for the kubelet configuration, and a started kubelet may write
 * its own kubeconfig. Join's preflight refuses each of them (the FileAvailable checks for a joining
 * node in kubeadm's cmd/kubeadm/app/preflight/checks.go), so a new attempt first removes them, with
 * the kubelet stopped as join itself does. The join phase runs only on workers its probe found not
 * joined, and preflight refused nodes of any other installation: these files are an earlier attempt's.
 */
const WORKER_JOIN_OUTPUTS = [
  '/etc/kubernetes/kubelet.conf',
  '/etc/kubernetes/bootstrap-kubelet.conf',
  '/etc/kubernetes/pki/ca.crt',
];

const clearEarlierJoin = [
  raw(`if ${WORKER_JOIN_OUTPUTS.map((f) => sh`[ -e ${f} ]`.text).join(' || ')}; then`),
  raw('  echo "removing what an earlier kubeadm join left"'),
  raw('  systemctl stop kubelet || true'),
  sh`  rm -f -- ${WORKER_JOIN_OUTPUTS}`,
  raw('fi'),
];

function kubeadmScript(
  purpose: string,
  path: string,
  config: string,
  command: readonly string[],
  before: readonly ShellFragment[] = [],
): Script {
  return script(
    purpose,
    raw('umask 077'),
    ...before,
    ...putFiles([{ path, mode: 0o600, content: config }]),
    sh`kubeadm config validate --config ${path}`,
    sh`${command} --config ${path}`,
  );
}

const MASTER_DONE = [
  '/etc/kubernetes/manifests/kube-apiserver.yaml',
  '/etc/kubernetes/manifests/etcd.yaml',
  '/var/lib/kubelet/config.yaml',
];
const WORKER_DONE = ['/etc/kubernetes/kubelet.conf', '/var/lib/kubelet/config.yaml'];

export const initPhase: Phase<CreateData> = {
  id: 'init',
  title: 'kubeadm init on the first master',
  nodes: (ctx) => [firstMaster(ctx)],
  done: (ctx, hosts) => nodesWithFiles(ctx, hosts, MASTER_DONE),
  plan: (ctx, h) =>
    h
      ? [
          `kubeadm config validate, kubeadm init --config ${INIT_CONFIG_PATH}${masters(ctx).length > 1 ? ' --upload-certs' : ''}`,
        ]
      : [],
  files: (ctx, h) => [
    {
      path: INIT_CONFIG_PATH,
      mode: 0o600,
      // The plan shows the shape; real secrets are made at run time only.
      content: kubeadmInitConfig(renderInput(ctx, h), {
        token: 'abcdef.0123456789abcdef',
        certificateKey: '0'.repeat(64),
      }),
    },
  ],
  async run(ctx, [h]) {
    const host = h!;
    const secrets = { token: newBootstrapToken(), certificateKey: newCertificateKey() };
    const upload = masters(ctx).length > 1;
    const config = kubeadmInitConfig(renderInput(ctx, host), secrets);
    try {
      await runOn(
        ctx,
        host,
        kubeadmScript('kubeadm init', INIT_CONFIG_PATH, config, [
          'kubeadm',
          'init',
          ...(upload ? ['--upload-certs'] : []),
        ]),
        KUBEADM_TIMEOUT_MS,
      );
    } catch (err) {
      return [failedResult(host, err)];
    }
    ctx.data.join = { token: secrets.token, ...(upload ? { certificateKey: secrets.certificateKey } : {}) };
    return [{ node: host.node.name }];
  },
};

/**
 * Join material for this run: init's token and key when init ran now, else a fresh token (2 h) and,
 * for master joins, freshly uploaded certificates (kubeadm deletes them after 2 h). kubeadm prints
 * what it generated; nothing secret goes through argv.
 */
async function joinSecrets(ctx: CreateContext, forMaster: boolean) {
  let j = ctx.data.join;
  if (!j || (forMaster && !j.certificateKey)) {
    const lines = [];
    if (!j) lines.push(raw('kubeadm token create --ttl 2h0m0s'));
    if (forMaster) lines.push(raw('kubeadm init phase upload-certs --upload-certs'));
    const out = await runOn(ctx, firstMaster(ctx), script('make join secrets', ...lines));
    const token = j?.token ?? /^[a-z0-9]{6}\.[a-z0-9]{16}$/m.exec(out)?.[0];
    const key = forMaster ? /^[a-f0-9]{64}$/m.exec(out)?.[0] : undefined;
    if (!token || (forMaster && !key))
      throw new Error('kubeadm did not print the new token or certificate key');
    j = { token, ...(key ? { certificateKey: key } : {}) };
    ctx.data.join = j;
  }
  return { ...j, caCertHash: await caCertHash(ctx.paths.pki) };
}

export const joinMastersPhase: Phase<CreateData> = {
  id: 'join-masters',
  title: 'join the other masters, one at a time',
  // In create the first master inits; in add every new master joins through an existing one.
  nodes: (ctx) => masters(ctx).filter((h) => h !== firstMaster(ctx)),
  batch: 1,
  done: (ctx, hosts) => nodesWithFiles(ctx, hosts, MASTER_DONE),
  plan: (ctx, h) =>
    h
      ? [
          `resolve ${ctx.spec.controlPlane.endpoint} to ${firstMaster(ctx).node.ip}, kubeadm join --control-plane, then resolve it to ${h.node.ip}`,
        ]
      : [],
  async run(ctx, hosts) {
    const out: NodeResult[] = [];
    for (const h of hosts) {
      try {
        const secrets = await joinSecrets(ctx, true);
        await runOn(ctx, h, hostsScript(ctx, joinResolve(ctx, h)));
        const config = kubeadmJoinConfig(renderInput(ctx, h, joinResolve(ctx, h)), secrets);
        await runOn(
          ctx,
          h,
          kubeadmScript('kubeadm join (master)', JOIN_CONFIG_PATH, config, ['kubeadm', 'join']),
          KUBEADM_TIMEOUT_MS,
        );
        await runOn(ctx, h, hostsScript(ctx, ctx.data.ha.finalResolve(ctx, h)));
        out.push({ node: h.node.name });
      } catch (err) {
        out.push(failedResult(h, err));
      }
    }
    return out;
  },
};

export const joinWorkersPhase: Phase<CreateData> = {
  id: 'join-workers',
  title: 'join the workers',
  nodes: workers,
  batch: DEFAULT_WORKER_BATCH,
  done: (ctx, hosts) => nodesWithFiles(ctx, hosts, WORKER_DONE),
  plan: (ctx, h) =>
    h ? [`kubeadm join through ${ctx.spec.controlPlane.endpoint} (-> ${joinResolve(ctx, h)})`] : [],
  async run(ctx, hosts) {
    let secrets: Awaited<ReturnType<typeof joinSecrets>>;
    try {
      secrets = await joinSecrets(ctx, false);
    } catch (err) {
      return hosts.map((h) => failedResult(h, err));
    }
    const join = async (h: Host): Promise<NodeResult> => {
      try {
        const config = kubeadmJoinConfig(renderInput(ctx, h, joinResolve(ctx, h)), {
          token: secrets.token,
          caCertHash: secrets.caCertHash,
        });
        await runOn(
          ctx,
          h,
          kubeadmScript(
            'kubeadm join (worker)',
            JOIN_CONFIG_PATH,
            config,
            ['kubeadm', 'join'],
            clearEarlierJoin,
          ),
          KUBEADM_TIMEOUT_MS,
        );
        return { node: h.node.name };
      } catch (err) {
        return failedResult(h, err);
      }
    };
    const first = await Promise.all(hosts.map(join));
    // A join can fail on an API server busy with the rest of the batch (kubeadm's client timeouts).
    // When others of the batch joined, the cluster takes joins: each failed worker gets one more
    // attempt once the batch has settled. When none joined, the cause is not load; no retry.
    const again = first.filter((r) => r.error?.kind === 'failed');
    if (again.length === 0 || again.length === first.length || ctx.signal.aborted) return first;
    ctx.warn(
      `kubeadm join failed on ${again.map((r) => r.node).join(', ')} while other workers joined; trying once more`,
    );
    const retried = await Promise.all(again.map((r) => join(hosts.find((h) => h.node.name === r.node)!)));
    return first.map((r) => retried.find((x) => x.node === r.node) ?? r);
  },
};
