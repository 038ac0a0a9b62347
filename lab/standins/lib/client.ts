/** A minimal Kubernetes REST client over real TLS, with whatever credentials a kubeconfig holds. */
import { request } from 'node:https';
import type { Credentials } from './kubeconfig.js';

export interface ApiResponse {
  status: number;
  body: unknown;
  text: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(readonly creds: Credentials) {}

  raw(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 10_000,
  ): Promise<ApiResponse> {
    const url = new URL(path, this.creds.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) headers['Content-Type'] = contentType;
    if (this.creds.token) headers.Authorization = `Bearer ${this.creds.token}`;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers,
          ...(this.creds.caPem ? { ca: this.creds.caPem } : {}),
          ...(this.creds.certPem ? { cert: this.creds.certPem } : {}),
          ...(this.creds.keyPem ? { key: this.creds.keyPem } : {}),
          ...(this.creds.tlsServerName ? { servername: this.creds.tlsServerName } : {}),
          rejectUnauthorized: !this.creds.insecure,
          agent: false,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // Health endpoints answer plain text.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`Get "${url}": net/http: request canceled (Client.Timeout exceeded)`)),
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const res = await this.raw(method, path, body, contentType);
    if (res.status >= 400) {
      const b = res.body as { message?: string; reason?: string } | string;
      const msg = typeof b === 'object' && b?.message ? b.message : res.text;
      throw new ApiError(res.status, msg, typeof b === 'object' ? b?.reason : undefined);
    }
    return res.body as T;
  }

  get<T = Record<string, unknown>>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** GET that maps 404 to undefined. */
  async find<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Create, or replace when it exists (what kubeadm's apiclient.CreateOrUpdate* helpers and
   * client-go's leader election do): the replace carries the resourceVersion just read, so a
   * concurrent writer makes it 409 Conflict and the read-modify-write is retried.
   */
  async upsert(collection: string, obj: { metadata: { name: string } }): Promise<void> {
    try {
      await this.call('POST', collection, obj);
      return;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 409 || e.reason !== 'AlreadyExists') throw e;
    }
    const path = `${collection}/${obj.metadata.name}`;
    for (let attempt = 0; ; attempt++) {
      const current = await this.get<{ metadata: { resourceVersion?: string } }>(path);
      const resourceVersion = current.metadata.resourceVersion;
      try {
        await this.call('PUT', path, { ...obj, metadata: { ...obj.metadata, resourceVersion } });
        return;
      } catch (e) {
        if (!(e instanceof ApiError) || e.reason !== 'Conflict' || attempt >= 4) throw e;
      }
    }
  }
}

export async function retry<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: timed out after ${Math.round(timeoutMs / 1000)}s: ${last instanceof Error ? last.message : String(last)}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
