/**
 * kubeadm's certs and kubeconfig phases: every file is generated when missing and reused when
 * present, after the same validation kubeadm does (a reused leaf must match its key, chain to the
 * CA and carry the SANs this node needs; a reused kubeconfig must name the same CA and server).
 */

import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from './config.js';
import { readKubeconfig, renderKubeconfig } from './kubeconfig.js';
import {
  type Algo,
  type CertAndKey,
  existsPair,
  readPair,
  selfSignedCA,
  signLeaf,
  validateLeaf,
  writePair,
  writePublic,
  writeSecret,
} from './pki.js';

export interface PkiPlan {
  certDir: string;
  nodeName: string;
  advertise: string;
  serviceSubnet: string;
  dnsDomain: string;
  controlPlaneEndpoint?: string;
  certSANs: string[];
  etcdServerSANs: string[];
  etcdPeerSANs: string[];
  localEtcd: boolean;
  validityMs: number;
  caValidityMs: number;
  algo: Algo;
  say: (line: string) => void;
}

function firstServiceIP(cidr: string): string {
  const [net] = cidr.split(',')[0]!.split('/');
  const o = net!.split('.').map(Number);
  o[3] = (o[3] ?? 0) + 1;
  return o.join('.');
}

function splitSans(values: string[]): { dns: string[]; ips: string[] } {
  const ips = values.filter((v) => /^\d+\.\d+\.\d+\.\d+$/.test(v) || v.includes(':'));
  return { dns: values.filter((v) => !ips.includes(v)), ips };
}

async function ensureCA(p: PkiPlan, base: string, label: string, cn: string): Promise<CertAndKey> {
  const path = `${p.certDir}/${base}`;
  if (existsPair(path)) {
    p.say(`[certs] Using existing ${label} certificate authority`);
    return readPair(path);
  }
  if (existsSync(`${path}.crt`)) {
    throw new ConfigError(
      `failure loading ${label} certificate authority: couldn't load the private key file ${path}.key: open ${path}.key: no such file or directory`,
    );
  }
  p.say(`[certs] Generating "${base}" certificate and key`);
  const ca = await selfSignedCA(cn, p.caValidityMs, p.algo);
  writePair(path, ca);
  return ca;
}

async function ensureLeaf(
  p: PkiPlan,
  ca: CertAndKey,
  base: string,
  spec: { cn: string; org?: string[]; dns?: string[]; ips?: string[]; server?: boolean; client?: boolean },
): Promise<void> {
  const path = `${p.certDir}/${base}`;
  if (existsPair(path)) {
    try {
      validateLeaf(
        base,
        readFileSync(`${path}.crt`, 'utf8'),
        readFileSync(`${path}.key`, 'utf8'),
        ca.certPem,
        {
          ...(spec.dns ? { dns: spec.dns } : {}),
          ...(spec.ips ? { ips: spec.ips } : {}),
        },
      );
    } catch (e) {
      throw new ConfigError(`[certs] ${(e as Error).message}`);
    }
    p.say(`[certs] Using the existing "${base}" certificate and key`);
    return;
  }
  p.say(`[certs] Generating "${base}" certificate and key`);
  if (spec.dns?.length || spec.ips?.length)
    p.say(
      `[certs] ${base} serving cert is signed for DNS names [${(spec.dns ?? []).join(' ')}] and IPs [${(spec.ips ?? []).join(' ')}]`,
    );
  const leaf = await signLeaf(ca, { ...spec, validityMs: p.validityMs }, undefined, p.algo);
  writePair(path, leaf);
}

export async function ensureCerts(p: PkiPlan): Promise<void> {
  p.say(`[certs] Using certificateDir folder "${p.certDir}"`);
  const ca = await ensureCA(p, 'ca', 'ca', 'kubernetes');
  const endpointHost = p.controlPlaneEndpoint?.replace(/:\d+$/, '');
  const extra = splitSans(p.certSANs);
  const apiDns = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${p.dnsDomain}`,
    p.nodeName,
    ...(endpointHost && !/^\d+\.\d+\.\d+\.\d+$/.test(endpointHost) ? [endpointHost] : []),
    ...extra.dns,
  ];
  const apiIps = [
    firstServiceIP(p.serviceSubnet),
    p.advertise,
    ...(endpointHost && /^\d+\.\d+\.\d+\.\d+$/.test(endpointHost) ? [endpointHost] : []),
    ...extra.ips,
  ];
  await ensureLeaf(p, ca, 'apiserver', {
    cn: 'kube-apiserver',
    dns: [...new Set(apiDns)],
    ips: [...new Set(apiIps)],
    server: true,
  });
  await ensureLeaf(p, ca, 'apiserver-kubelet-client', {
    cn: 'kube-apiserver-kubelet-client',
    org: ['kubeadm:cluster-admins'],
    client: true,
  });
  const fp = await ensureCA(p, 'front-proxy-ca', 'front-proxy-ca', 'front-proxy-ca');
  await ensureLeaf(p, fp, 'front-proxy-client', { cn: 'front-proxy-client', client: true });
  if (p.localEtcd) {
    const etcd = await ensureCA(p, 'etcd/ca', 'etcd/ca', 'etcd-ca');
    const es = splitSans(p.etcdServerSANs);
    const ep = splitSans(p.etcdPeerSANs);
    await ensureLeaf(p, etcd, 'etcd/server', {
      cn: p.nodeName,
      dns: [...new Set([p.nodeName, 'localhost', ...es.dns])],
      ips: [...new Set([p.advertise, '127.0.0.1', '0:0:0:0:0:0:0:1', ...es.ips])],
      server: true,
      client: true,
    });
    await ensureLeaf(p, etcd, 'etcd/peer', {
      cn: p.nodeName,
      dns: [...new Set([p.nodeName, 'localhost', ...ep.dns])],
      ips: [...new Set([p.advertise, '127.0.0.1', '0:0:0:0:0:0:0:1', ...ep.ips])],
      server: true,
      client: true,
    });
    await ensureLeaf(p, etcd, 'etcd/healthcheck-client', {
      cn: 'kube-etcd-healthcheck-client',
      client: true,
    });
    await ensureLeaf(p, etcd, 'apiserver-etcd-client', { cn: 'kube-apiserver-etcd-client', client: true });
  }
  const sa = `${p.certDir}/sa`;
  if (existsSync(`${sa}.key`)) {
    p.say('[certs] Using the existing "sa" key');
    if (!existsSync(`${sa}.pub`)) {
      writePublic(
        `${sa}.pub`,
        createPublicKey(readFileSync(`${sa}.key`, 'utf8'))
          .export({ format: 'pem', type: 'spki' })
          .toString(),
      );
    }
  } else {
    p.say('[certs] Generating "sa" key and public key');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeSecret(`${sa}.key`, privateKey.export({ format: 'pem', type: 'pkcs1' }).toString());
    writePublic(`${sa}.pub`, publicKey.export({ format: 'pem', type: 'spki' }).toString());
  }
}

export interface KubeconfigPlan {
  certDir: string;
  nodeName: string;
  controlPlaneURL: string;
  localURL: string;
  /** ControlPlaneKubeletLocalMode: kubelet.conf points at the local apiserver */
  kubeletLocal?: boolean;
  validityMs: number;
  algo: Algo;
  files: ('admin' | 'super-admin' | 'kubelet' | 'controller-manager' | 'scheduler')[];
  say: (line: string) => void;
}

export async function ensureKubeconfigs(k: KubeconfigPlan): Promise<void> {
  k.say('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"');
  const ca = await readPair(`${k.certDir}/ca`);
  const specs: Record<string, { cn: string; org?: string[]; url: string; user: string }> = {
    admin: {
      cn: 'kubernetes-admin',
      org: ['kubeadm:cluster-admins'],
      url: k.controlPlaneURL,
      user: 'kubernetes-admin',
    },
    'super-admin': {
      cn: 'kubernetes-super-admin',
      org: ['system:masters'],
      url: k.controlPlaneURL,
      user: 'kubernetes-super-admin',
    },
    kubelet: {
      cn: `system:node:${k.nodeName}`,
      org: ['system:nodes'],
      url: k.kubeletLocal ? k.localURL : k.controlPlaneURL,
      user: `system:node:${k.nodeName}`,
    },
    'controller-manager': {
      cn: 'system:kube-controller-manager',
      url: k.localURL,
      user: 'system:kube-controller-manager',
    },
    scheduler: { cn: 'system:kube-scheduler', url: k.localURL, user: 'system:kube-scheduler' },
  };
  for (const f of k.files) {
    const s = specs[f]!;
    const path = `/etc/kubernetes/${f}.conf`;
    if (existsSync(path)) {
      const have = readKubeconfig(path);
      if (have.caPem?.trim() !== ca.certPem.trim()) {
        throw new ConfigError(`a kubeconfig file "${path}" exists already but has got the wrong CA cert`);
      }
      if (have.server !== s.url) {
        throw new ConfigError(
          `a kubeconfig file "${path}" exists already but has an unexpected API Server URL: expected: ${s.url}, got: ${have.server}`,
        );
      }
      k.say(`[kubeconfig] Using existing kubeconfig file: "${path}"`);
      continue;
    }
    k.say(`[kubeconfig] Writing "${f}.conf" kubeconfig file`);
    const leaf = await signLeaf(
      ca,
      { cn: s.cn, ...(s.org ? { org: s.org } : {}), client: true, validityMs: k.validityMs },
      undefined,
      k.algo,
    );
    writeSecret(
      path,
      renderKubeconfig({
        server: s.url,
        caPem: ca.certPem,
        user: s.user,
        certPem: leaf.certPem,
        keyPem: leaf.key.pem,
      }),
    );
  }
}
