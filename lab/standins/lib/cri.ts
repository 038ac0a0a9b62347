/**
 * The containerd stand-in's socket protocol. The real socket speaks CRI (gRPC over HTTP/2); the
 * stand-in speaks small JSON requests over HTTP/1.1 on the same path, so "is the runtime there and
 * configured" is real while no container is ever run.
 */
import { request } from 'node:http';

export interface RuntimeInfo {
  version: string;
  runtimeName: string;
  runtimeApiVersion: string;
  cgroupDriver: 'systemd' | 'cgroupfs';
  sandboxImage: string;
  configVersion: number;
  /**
   * Whether the runtime answers the CRI RuntimeConfig call (containerd 2.0 and later), from which
   * a kubelet with KubeletCgroupDriverFromCRI takes its cgroup driver.
   */
  runtimeConfig: boolean;
}

export interface ImageRecord {
  name: string;
  digest: string;
  size: number;
  importedAt: string;
  /** containerd namespace; the CRI plugin (kubelet, crictl, kubeadm) sees only k8s.io. */
  namespace?: string;
}

export function endpointPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}

/** The stand-in's error replies are `{"error": "..."}`; the message is what a CRI client prints. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {}
  return text.trim();
}

export function criCall<T>(
  endpoint: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: endpointPath(endpoint),
        method,
        path,
        timeout: timeoutMs,
        headers: payload ? { 'Content-Type': 'application/json' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400)
            reject(new Error(errorText(text) || `status ${res.statusCode}`));
          else resolve(JSON.parse(text || 'null') as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
    req.on('error', (e) =>
      reject(
        new Error(
          `validate service connection: validate CRI v1 runtime API for endpoint "${endpoint}": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix ${endpointPath(endpoint)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'connect: no such file or directory' : e.message}"`,
        ),
      ),
    );
    if (payload) req.write(payload);
    req.end();
  });
}
