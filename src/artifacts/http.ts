import { type Dispatcher, EnvHttpProxyAgent, interceptors, request } from 'undici';

/**
 * The HTTP client every artifact download goes through: HTTP(S)_PROXY / NO_PROXY from the environment,
 * redirects followed (dl.k8s.io and GitHub release URLs redirect to CDNs), and timeouts so a stalled
 * mirror fails over instead of hanging.
 */
export interface HttpOptions {
  /** Waiting for response headers. */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks. */
  bodyTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Where HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their lower-case forms) are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function createDispatcher(opts: HttpOptions = {}): Dispatcher {
  const env = opts.env ?? process.env;
  // Empty strings, not undefined, so undici does not fall back to process.env behind the caller's back.
  const pick = (name: string) => env[name] ?? env[name.toLowerCase()] ?? '';
  return new EnvHttpProxyAgent({
    httpProxy: pick('HTTP_PROXY'),
    httpsProxy: pick('HTTPS_PROXY'),
    noProxy: pick('NO_PROXY'),
    headersTimeout: opts.headersTimeoutMs ?? 30_000,
    bodyTimeout: opts.bodyTimeoutMs ?? 60_000,
    connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
  }).compose(interceptors.redirect({ maxRedirections: 5 }));
}

export class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number, url: string) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.cause = url;
  }
}

/** GETs a small text body (checksum files, stable-1.Y.txt), refusing anything but 200 and big answers. */
export async function getText(
  dispatcher: Dispatcher,
  url: string,
  opts: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<string> {
  const res = await request(url, {
    dispatcher,
    method: 'GET',
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new HttpStatusError(res.statusCode, url);
  }
  const max = opts.maxBytes ?? 1 << 20;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.body.destroy();
      throw new Error(`answer larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One short reason for an error, for the list of URLs tried. */
export function reasonOf(err: unknown): string {
  if (err instanceof HttpStatusError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    const inner = cause?.code ? `${cause.code}` : '';
    return [code && code !== 'UND_ERR_SOCKET' ? code : '', err.message, inner].filter(Boolean).join(': ');
  }
  return String(err);
}
