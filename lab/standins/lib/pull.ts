/**
 * The containerd stand-in's image pull: it resolves a reference through the registry hosts that
 * containerd's hosts.toml files name (docs/hosts.md: `config_path`/<registry>/hosts.toml, the
 * `[host."URL"]` entries in order, then `server`), answers the registry's bearer-token challenge
 * with the CRI plugin's `registry.configs."<host>".auth` credentials, and records the manifest's
 * digest. Layers are not fetched: nothing runs. The registries themselves (registry.k8s.io,
 * Docker Hub, a `server` that is a name) are never contacted; they fail as an offline host would.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { RuntimeSettings } from './containerd-config.js';
import type { ImageRecord } from './cri.js';
import { normalizeRef, parseRef } from './images.js';
import { parseToml, type TomlTable } from './toml.js';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Endpoint {
  url: string;
  ca?: string[];
  skipVerify: boolean;
  overridePath: boolean;
  /** A `[host]` entry: requests carry `?ns=<registry>`, as containerd sends them to mirrors. */
  mirror?: boolean;
  /** The registry itself, not written in any hosts.toml: the lab never contacts it. */
  implicit?: boolean;
}

/** The endpoints containerd would try for a registry, from its hosts.toml. */
export function registryEndpoints(domain: string, configPath: string): Endpoint[] {
  const upstream: Endpoint = {
    url: `https://${domain === 'docker.io' ? 'registry-1.docker.io' : domain}`,
    skipVerify: false,
    overridePath: false,
    implicit: true,
  };
  const dir = [`${configPath}/${domain}`, `${configPath}/_default`].find(
    (d) => configPath && existsSync(`${d}/hosts.toml`),
  );
  if (!dir) return [upstream];
  const doc = parseToml(readFileSync(`${dir}/hosts.toml`, 'utf8'));
  const endpoints: Endpoint[] = [];
  for (const [url, h] of Object.entries((doc.host as TomlTable | undefined) ?? {})) {
    const t = h as TomlTable;
    const caps = (t.capabilities as string[] | undefined) ?? ['pull', 'resolve', 'push'];
    if (!caps.includes('pull') || !caps.includes('resolve')) continue;
    const ca = t.ca === undefined ? undefined : ([] as string[]).concat(t.ca as string | string[]);
    endpoints.push({
      url: url.replace(/\/$/, ''),
      ...(ca ? { ca } : {}),
      skipVerify: t.skip_verify === true,
      overridePath: t.override_path === true,
      mirror: true,
    });
  }
  // `server` is the registry itself; the lab reaches only addresses, never a public name
  if (typeof doc.server === 'string' && isAddress(new URL(doc.server).hostname))
    endpoints.push({ url: doc.server, skipVerify: false, overridePath: false });
  else endpoints.push({ ...upstream, ...(typeof doc.server === 'string' ? { url: doc.server } : {}) });
  return endpoints;
}

function isAddress(host: string): boolean {
  return host === 'localhost' || isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, e: Endpoint, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = {
      method: 'GET',
      headers,
      timeout: 30_000,
      ...(u.protocol === 'https:'
        ? {
            rejectUnauthorized: !e.skipVerify,
            ...(e.ca ? { ca: e.ca.map((p) => readFileSync(p, 'utf8')) } : {}),
          }
        : {}),
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('i/o timeout')));
    req.on('error', (err) => reject(new Error(`failed to do request: Get "${url}": ${err.message}`)));
    req.end();
  });
}

function challenge(header: string | undefined): Record<string, string> | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

async function token(
  c: Record<string, string>,
  e: Endpoint,
  auth: RuntimeSettings['registryAuth'][string] | undefined,
): Promise<string> {
  const u = new URL(c.realm ?? '');
  if (c.service) u.searchParams.set('service', c.service);
  if (c.scope) u.searchParams.set('scope', c.scope);
  const basic =
    auth?.auth ??
    (auth?.username ? Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64') : undefined);
  const r = await get(u.toString(), e, basic ? { Authorization: `Basic ${basic}` } : {});
  if (r.status !== 200)
    throw new Error(
      `failed to fetch oauth token: unexpected status from GET request to ${u.origin}${u.pathname}: ${r.status}`,
    );
  const t = JSON.parse(r.body.toString()) as { token?: string; access_token?: string };
  return t.token ?? t.access_token ?? '';
}

/** Resolves a reference through the configured hosts; throws containerd's error shape. */
export async function pullImage(ref: string, settings: RuntimeSettings): Promise<ImageRecord> {
  let name: string;
  let p: ReturnType<typeof parseRef>;
  try {
    name = normalizeRef(ref);
    p = parseRef(ref);
  } catch (e) {
    throw new Error(`rpc error: code = InvalidArgument desc = ${(e as Error).message}`);
  }
  const wrap = (code: string, why: string) =>
    new Error(`rpc error: code = ${code} desc = failed to pull and unpack image "${name}": ${why}`);
  const endpoints = registryEndpoints(p.domain, settings.registryConfigPath);
  const object = p.digest ?? p.tag ?? 'latest';
  let last = '';
  for (const e of endpoints) {
    const host = new URL(e.url).host;
    const path = e.overridePath ? e.url : `${e.url}/v2`;
    const url = `${path}/${p.path}/manifests/${object}${e.mirror ? `?ns=${p.domain}` : ''}`;
    if (e.implicit) {
      // not configured anywhere: the lab has no route to the public registries; a mirror's own
      // failure, if there was one, says more
      last ||= `failed to resolve reference "${name}": failed to do request: Head "${url}": dial tcp: lookup ${host}: no such host`;
      continue;
    }
    try {
      let r = await get(url, e, { Accept: ACCEPT });
      const c = r.status === 401 ? challenge(r.headers['www-authenticate'] as string | undefined) : undefined;
      if (c) {
        const t = await token(c, e, settings.registryAuth[host]);
        r = await get(url, e, { Accept: ACCEPT, Authorization: `Bearer ${t}` });
      }
      if (r.status === 200) {
        const digest =
          (r.headers['docker-content-digest'] as string | undefined) ??
          `sha256:${createHash('sha256').update(r.body).digest('hex')}`;
        if (p.digest && digest !== p.digest) {
          last = `failed to resolve reference "${name}": digest mismatch: ${digest}`;
          continue;
        }
        return { name, digest, size: r.body.length, importedAt: new Date().toISOString() };
      }
      if (r.status === 404) last = `failed to resolve reference "${name}": ${name}: not found`;
      else if (r.status === 401 || r.status === 403)
        last = `failed to resolve reference "${name}": pull access denied, repository does not exist or may require authorization: authorization failed (${r.status} from ${host}; credentials come from registry.configs."${host}".auth)`;
      else
        last = `failed to resolve reference "${name}": unexpected status from GET request to ${url}: ${r.status}`;
    } catch (err) {
      last = `failed to resolve reference "${name}": ${(err as Error).message}`;
    }
  }
  throw wrap(last.endsWith(': not found') ? 'NotFound' : 'Unknown', last);
}
