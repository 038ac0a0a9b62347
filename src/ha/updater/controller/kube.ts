import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

/**
 * The smallest Kubernetes API client the updater needs: JSON requests and line-delimited watch
 * streams over node:https, authenticated with the pod's service-account token. No client library,
 * so the bundle stays a few kilobytes and has no dependencies to audit.
 */

export interface InClusterConfig {
  host: string;
  port: number;
  /** PEM of the cluster CA (the service account's ca.crt). */
  ca: string;
  tokenFile: string;
  userAgent: string;
}

/**
 * Bound service-account tokens are rotated by the kubelet (at 80% of their lifetime, one hour by
 * default), so the file is re-read at this interval, as client-go does.
 */
const TOKEN_REFRESH_MS = 60_000;
/**
 * Short, so a connection to an apiserver that just died fails fast and the next request opens a new
 * one: the leader then still renews its lease (two tries fit in the renew deadline).
 */
const REQUEST_TIMEOUT_MS = 4_000;

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class KubeApi {
  private readonly agent: Agent;
  private token = '';
  private tokenReadAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly config: InClusterConfig) {
    this.agent = new Agent({ ca: config.ca, keepAlive: true });
  }

  private bearer(): string {
    const now = Date.now();
    if (now - this.tokenReadAt >= TOKEN_REFRESH_MS) {
      this.token = readFileSync(this.config.tokenFile, 'utf8').trim();
      this.tokenReadAt = now;
    }
    return this.token;
  }

  /** A 401 usually means the kubelet rotated the token: read the file again on the next request. */
  private noteStatus(status: number | undefined): void {
    if (status === 401) this.tokenReadAt = Number.NEGATIVE_INFINITY;
  }

  private open(method: string, path: string, body: string | undefined, timeoutMs: number) {
    return request({
      host: this.config.host,
      port: this.config.port,
      method,
      path,
      agent: this.agent,
      timeout: timeoutMs,
      headers: {
        authorization: `Bearer ${this.bearer()}`,
        accept: 'application/json',
        'user-agent': this.config.userAgent,
        ...(body === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      },
    });
  }

  /** One JSON request; any status is returned (the caller decides what 404 or 409 means). */
  send(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<ApiResponse> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, text, REQUEST_TIMEOUT_MS);
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)),
      );
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          this.noteStatus(res.statusCode);
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw ? JSON.parse(raw) : undefined;
          } catch {
            // A non-JSON body (a proxy's error page) is kept as text for the log line.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.end(text);
    });
  }

  /**
   * Streams a watch until the server ends it, the connection breaks or `signal` aborts. Resolves on a
   * clean end; rejects with ApiError when the server refuses the watch (410 Gone included).
   */
  watch(path: string, idleMs: number, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // The server ends a watch after its timeoutSeconds; idleMs only catches a connection whose
      // apiserver died without closing it.
      const req = this.open('GET', path, undefined, idleMs);
      req.on('timeout', () => req.destroy(new Error(`watch ${path}: silent for ${idleMs} ms`)));
      const abort = () => req.destroy();
      signal.addEventListener('abort', abort, { once: true });
      const done = (err?: Error) => {
        signal.removeEventListener('abort', abort);
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      req.on('error', (e) => done(e));
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          this.noteStatus(res.statusCode);
          res.resume();
          done(new ApiError(res.statusCode ?? 0, `watch ${path}: HTTP ${res.statusCode}`));
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl = buffered.indexOf('\n');
          while (nl >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) {
              try {
                onEvent(JSON.parse(line) as WatchEvent);
              } catch (e) {
                req.destroy(e as Error);
                return;
              }
            }
            nl = buffered.indexOf('\n');
          }
        });
        res.on('error', (e) => done(e));
        res.on('end', () => done());
        res.on('close', () => done());
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The in-cluster configuration every pod gets: service env vars plus the mounted service account. */
export function inClusterConfig(env: NodeJS.ProcessEnv, saDir: string, userAgent: string): InClusterConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = Number(env.KUBERNETES_SERVICE_PORT);
  if (!host || !Number.isInteger(port) || port <= 0) {
    throw new Error('KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: not running in a pod?');
  }
  return {
    host,
    port,
    ca: readFileSync(`${saDir}/ca.crt`, 'utf8'),
    tokenFile: `${saDir}/token`,
    userAgent,
  };
}
