import { request } from 'node:https';
import { type Script, script, sh } from '../fleet/script.js';
import { API_BIND_PORT } from './profiles.js';

/**
 * After new certificates are placed, the control-plane static pods must restart to load them. kubelet
 * restarts a static pod when its manifest leaves and comes back, so each master parks its manifests,
 * waits until kubelet has stopped the containers, and restores them. Masters go one at a time and the
 * next starts only when this one's API server answers /readyz, so etcd keeps quorum and the API stays up.
 */

export const STATIC_PODS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * A crash between park and restore leaves the manifests parked; the next run restores them first,
 * so re-running always converges to every manifest back in place. The script waits (at most
 * `waitSeconds`) until crictl lists none of the containers; when crictl is missing or cannot answer,
 * kubelet gets `settleSeconds` instead (its manifest check runs every 20 s by default).
 */
export function restartStaticPodsScript(waitSeconds = 60, settleSeconds = 20): Script {
  const manifests = '/etc/kubernetes/manifests';
  const park = '/etc/kubernetes/manifests.kubeon-restart';
  return script(
    'restart control-plane static pods',
    sh`m=${manifests}; park=${park}`,
    sh`restore() { for f in "$park"/*.yaml; do if [ -f "$f" ]; then mv -f -- "$f" "$m"/; fi; done; rmdir -- "$park"; }`,
    sh`if [ -d "$park" ]; then restore; fi`,
    sh`[ -d "$m" ] || { echo "no $m: the control plane is not running here yet" >&2; exit 0; }`,
    sh`mkdir -p -- "$park"`,
    sh`for p in ${[...STATIC_PODS]}; do if [ -f "$m/$p.yaml" ]; then mv -f -- "$m/$p.yaml" "$park"/; fi; done`,
    sh`i=0`,
    sh`while [ "$i" -lt ${waitSeconds} ]; do`,
    sh`  if ids=$(crictl ps -q --name '^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$' 2>/dev/null); then`,
    sh`    if [ -z "$ids" ]; then break; fi`,
    sh`  else sleep ${settleSeconds}; break; fi`,
    sh`  sleep 1; i=$((i+1))`,
    sh`done`,
    sh`restore`,
  );
}

export interface ReadyzCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Name the API server certificate is checked against (the control-plane endpoint). */
  servername: string;
}

/** One GET /readyz against a master's own API server; resolves to the HTTP status (0 when unreachable). */
export function readyzOnce(
  ip: string,
  creds: ReadyzCredentials,
  timeoutMs = 5000,
  port = API_BIND_PORT,
): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: ip,
        port,
        path: '/readyz',
        method: 'GET',
        ca: creds.caPem,
        cert: creds.certPem,
        key: creds.keyPem,
        servername: creds.servername,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Polls /readyz until it answers 200; false when `timeoutMs` passes first. */
export async function waitReadyz(
  ip: string,
  creds: ReadyzCredentials,
  opts: { timeoutMs: number; intervalMs?: number; port?: number },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if ((await readyzOnce(ip, creds, 5000, opts.port)) === 200) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
}
