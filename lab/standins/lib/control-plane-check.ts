/**
 * WaitForAllControlPlaneComponents (on by default from 1.33, always from 1.35): after the kubelet,
 * kubeadm checks every control-plane component on the endpoint its static Pod serves, taken from the
 * manifest flags (cmd/kubeadm/app/util/apiclient/wait.go, WaitForControlPlaneComponents), so a
 * controller-manager or scheduler broken by extraArgs or extraVolumes fails init and join.
 */
import { request } from 'node:https';

export interface ComponentCheck {
  name: string;
  url: string;
}

function flagOf(manifest: string, name: string): string | undefined {
  return new RegExp(`--${name}=(\\S+)`).exec(manifest)?.[1];
}

function local(address: string | undefined): string {
  if (!address || address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

/** The endpoints kubeadm probes: apiserver /livez on the advertise address, the others on their bind address. */
export function componentChecks(
  manifests: { apiserver: string; controllerManager: string; scheduler: string },
  advertise: string,
): ComponentCheck[] {
  const host = advertise.includes(':') ? `[${advertise}]` : advertise;
  return [
    {
      name: 'kube-apiserver',
      url: `https://${host}:${flagOf(manifests.apiserver, 'secure-port') ?? '6443'}/livez`,
    },
    {
      name: 'kube-controller-manager',
      url: `https://${local(flagOf(manifests.controllerManager, 'bind-address'))}:${flagOf(manifests.controllerManager, 'secure-port') ?? '10257'}/healthz`,
    },
    {
      name: 'kube-scheduler',
      url: `https://${local(flagOf(manifests.scheduler, 'bind-address'))}:${flagOf(manifests.scheduler, 'secure-port') ?? '10259'}/livez`,
    },
  ];
}

function probe(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `${url} returned ${res.statusCode}`);
    });
    req.on('error', (e) => {
      // Go's wording for the common case, so the message reads as kubeadm's
      const refused = /^connect ECONNREFUSED (\S+)/.exec(e.message);
      resolve(`Get "${url}": ${refused ? `dial tcp ${refused[1]}: connect: connection refused` : e.message}`);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`Get "${url}": context deadline exceeded`);
    });
    req.end();
  });
}

/** Polls every component until healthy or the timeout; the error lists each that never was. */
export async function waitForComponents(
  checks: ComponentCheck[],
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  say(
    `[control-plane-check] Waiting for healthy control plane components. This can take up to ${Math.round(timeoutMs / 60e3)}m0s`,
  );
  for (const c of checks) say(`[control-plane-check] Checking ${c.name} at ${c.url}`);
  const started = Date.now();
  const results = await Promise.all(
    checks.map(async (c) => {
      let last: string | undefined = 'not checked';
      while (Date.now() - started < timeoutMs) {
        last = await probe(c.url);
        if (!last) {
          say(
            `[control-plane-check] ${c.name} is healthy after ${((Date.now() - started) / 1000).toFixed(3)}s`,
          );
          return undefined;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      say(`[control-plane-check] ${c.name} is not healthy after ${Math.round(timeoutMs / 60e3)}m0s`);
      return `${c.name} check failed at ${c.url}: ${last}`;
    }),
  );
  const failed = results.filter((r): r is string => !!r);
  if (failed.length) {
    throw new Error(
      `failed while waiting for the control plane to start: ${failed.length === 1 ? failed[0] : `[${failed.join(', ')}]`}`,
    );
  }
}
