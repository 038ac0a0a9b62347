/**
 * The loopback mirror: serves a directory in upstream's URL layout over HTTP(S), with byte ranges,
 * conditional requests, injected faults, and an access log tests can read.
 *
 * Admin endpoints (loopback clients only) live under `/_mirror/`:
 *   GET /_mirror/health
 *   GET|PUT|POST|DELETE /_mirror/faults   (list | replace | append | clear; body: {faults: [...]})
 *   GET /_mirror/log?since=SEQ, DELETE /_mirror/log
 */
import { appendFileSync, createReadStream, type Stats, writeFileSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Fault,
  type FaultInput,
  FaultSet,
  type FaultState,
  isChecksumPath,
  parseFaults,
} from './faults.js';

export interface MirrorOptions {
  /** Directory served; URL `/a/b` maps to `<root>/a/b`. */
  root: string;
  /** 0 (default) picks a free port; every bind address uses the same port. */
  port?: number;
  /** Addresses to listen on; default `['127.0.0.1']`. */
  bind?: string[];
  /** Serve HTTPS with this certificate (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer; caFile?: string };
  faults?: FaultInput[];
  /** JSON-lines access log, emptied at start and appended to as requests finish. */
  logFile?: string;
}

export interface AccessLogEntry {
  seq: number;
  time: string;
  remote: string;
  method: string;
  path: string;
  range?: string;
  status: number;
  /** Body bytes actually written to the socket. */
  bytes: number;
  /** Size of the file behind the path, when there is one. */
  size?: number;
  fault?: Fault['kind'];
  ms: number;
}

export interface Mirror {
  /** Base URL on the first bind address, e.g. `http://127.0.0.1:34567`. */
  url: string;
  urls: string[];
  port: number;
  root: string;
  logFile?: string;
  caFile?: string;
  close(): Promise<void>;
  setFaults(faults: FaultInput[]): FaultState[];
  addFaults(faults: FaultInput[]): FaultState[];
  faults(): FaultState[];
  /** Entries logged since start (or the last clearLog), oldest first. */
  log(since?: number): AccessLogEntry[];
  clearLog(): void;
}

export async function startMirror(opts: MirrorOptions): Promise<Mirror> {
  const root = await realpath(opts.root);
  const faults = new FaultSet(opts.faults ?? []);
  const entries: AccessLogEntry[] = [];
  let seq = 0;
  const record = (e: Omit<AccessLogEntry, 'seq' | 'time'>) => {
    const entry = { seq: ++seq, time: new Date().toISOString(), ...e };
    entries.push(entry);
    if (opts.logFile) appendFileSync(opts.logFile, `${JSON.stringify(entry)}\n`);
  };
  const clearLog = () => {
    entries.length = 0;
    if (opts.logFile) writeFileSync(opts.logFile, '');
  };
  // One log per server life: seq numbers restart, so old lines would be ambiguous.
  if (opts.logFile) writeFileSync(opts.logFile, '');

  const ctx: HandlerCtx = { root, faults, record, entries, clearLog };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  };

  const binds = opts.bind?.length ? opts.bind : ['127.0.0.1'];
  const servers: http.Server[] = [];
  let port = opts.port ?? 0;
  try {
    for (const addr of binds) {
      const server = opts.tls
        ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
        : http.createServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, addr, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      port = (server.address() as AddressInfo).port;
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  const scheme = opts.tls ? 'https' : 'http';
  const urls = binds.map((a) => `${scheme}://${a.includes(':') ? `[${a}]` : a}:${port}`);
  return {
    url: urls[0]!,
    urls,
    port,
    root,
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
    ...(opts.tls?.caFile ? { caFile: opts.tls.caFile } : {}),
    close: () => Promise.all(servers.map(closeServer)).then(() => undefined),
    setFaults: (f) => faults.replace(f),
    addFaults: (f) => faults.add(f),
    faults: () => faults.list(),
    log: (since = 0) => entries.filter((e) => e.seq > since),
    clearLog,
  };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface HandlerCtx {
  root: string;
  faults: FaultSet;
  entries: AccessLogEntry[];
  record(e: Omit<AccessLogEntry, 'seq' | 'time'>): void;
  clearLog(): void;
}

const isLoopback = (addr: string | undefined): boolean =>
  !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): number {
  const buf = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
  return res.req.method === 'HEAD' ? 0 : buf.length;
}

async function handle(ctx: HandlerCtx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const started = Date.now();
  const rawPath = (req.url ?? '/').split('?')[0]!;
  if (rawPath.startsWith('/_mirror/')) return admin(ctx, req, res);

  const method = req.method ?? 'GET';
  const base = { remote: req.socket.remoteAddress ?? '', method, path: rawPath };
  const range = req.headers.range;
  const log = (status: number, bytes: number, extra: Partial<AccessLogEntry> = {}) =>
    ctx.record({ ...base, ...(range ? { range } : {}), status, bytes, ms: Date.now() - started, ...extra });

  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return log(405, send(res, 405, 'method not allowed\n'));
  }
  const resolved = await resolveSafely(ctx.root, rawPath);
  if (resolved.kind === 'refused') return log(403, send(res, 403, 'forbidden\n'));
  // A status fault answers even for a path the tree lacks (a 503 for a file not built yet).
  const statusFault = ctx.faults.forPath('status', rawPath);
  if (statusFault) {
    const size = resolved.kind === 'file' ? { size: resolved.stat.size } : {};
    return log(statusFault.status, send(res, statusFault.status, 'injected fault\n'), {
      fault: 'status',
      ...size,
    });
  }
  if (resolved.kind !== 'file') return log(404, send(res, 404, 'not found\n'));
  const st = resolved.stat;

  const slow = ctx.faults.forPath('slow', rawPath);
  if (slow?.delayMs) await sleep(slow.delayMs);

  // A rewritten checksum file is served from memory; everything else streams from disk.
  let body: Buffer | undefined;
  let fault: Fault['kind'] | undefined = slow ? 'slow' : undefined;
  if (isChecksumPath(rawPath) && st.size < 1 << 20) {
    const wrong = ctx.faults.checksumText(rawPath, await readFile(resolved.file, 'utf8'));
    if (wrong !== undefined) {
      body = Buffer.from(wrong);
      fault = 'checksum';
    }
  }
  const corrupt = body === undefined && ctx.faults.forPath('corrupt', rawPath) !== undefined;
  if (corrupt) fault = 'corrupt';
  const size = body?.length ?? st.size;
  // Inode, size and mtime: a rebuilt tree renames new files in, so every rebuild is a new ETag and a
  // stale If-Range gets the whole file rather than a splice of two versions.
  const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}${fault === 'checksum' || corrupt ? '-f' : ''}"`;
  const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();

  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', lastModified);
  res.setHeader('Content-Type', contentType(rawPath));

  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304);
    res.end();
    return log(304, 0, { size, ...(fault ? { fault } : {}) });
  }

  const ifRange = req.headers['if-range'];
  const r = pickRange(range, typeof ifRange === 'string' ? ifRange : undefined, etag, lastModified, size);
  if (r === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${size}`);
    return log(416, send(res, 416, 'range not satisfiable\n'), { size });
  }
  const [start, end] = r ?? [0, size - 1];
  const length = size === 0 ? 0 : end - start + 1;
  if (r) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.setHeader('Content-Length', length);
  const status = r ? 206 : 200;
  res.writeHead(status);
  if (method === 'HEAD' || length === 0) {
    res.end();
    return log(status, 0, { size, ...(fault ? { fault } : {}) });
  }

  const drop = ctx.faults.forPath('drop', rawPath);
  if (drop) fault = 'drop';
  const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = body
    ? [body.subarray(start, end + 1)]
    : (createReadStream(resolved.file, { start, end, highWaterMark: 64 << 10 }) as AsyncIterable<Buffer>);
  const flip = corrupt ? Math.floor(st.size / 2) : -1;
  const sent = await stream(res, chunks, {
    offset: start,
    flip,
    dropAfter: drop?.afterBytes,
    bytesPerSecond: slow?.bytesPerSecond,
  });
  log(status, sent, { size, ...(fault ? { fault } : {}) });
}

interface StreamPlan {
  offset: number;
  /** File offset of the byte to invert, or -1. */
  flip: number;
  dropAfter: number | undefined;
  bytesPerSecond: number | undefined;
}

/** Writes the body honouring backpressure, throttling and drop faults; returns body bytes written. */
async function stream(
  res: http.ServerResponse,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  plan: StreamPlan,
): Promise<number> {
  let sent = 0;
  let offset = plan.offset;
  const began = Date.now();
  const slice = plan.bytesPerSecond
    ? Math.max(1, Math.floor(plan.bytesPerSecond / 20))
    : Number.POSITIVE_INFINITY;
  for await (const whole of chunks) {
    for (let at = 0; at < whole.length; at += Math.min(slice, whole.length)) {
      if (res.destroyed) return sent;
      let piece = whole.subarray(at, Math.min(whole.length, at + slice));
      if (plan.flip >= offset && plan.flip < offset + piece.length) {
        piece = Buffer.from(piece);
        piece[plan.flip - offset]! ^= 0xff;
      }
      const dropHere = plan.dropAfter !== undefined && sent + piece.length >= plan.dropAfter;
      if (dropHere) piece = piece.subarray(0, plan.dropAfter! - sent);
      if (plan.bytesPerSecond) {
        const due = began + ((sent + piece.length) / plan.bytesPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
      sent += piece.length;
      offset += piece.length;
      if (dropHere) {
        // Close only once the bytes are in the kernel: the client must see exactly `afterBytes`.
        if (piece.length > 0) await flushed(res, piece);
        res.socket?.destroy();
        res.destroy();
        return sent;
      }
      if (piece.length > 0 && !res.write(piece)) await drained(res);
    }
  }
  // Returning before the tail is flushed means the log entry exists by the time the client has read
  // the whole body, so a test can read the log right after its download.
  res.end();
  return sent;
}

/** Resolves when the response can take more data, or has closed. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Writes `piece` and resolves once it is handed to the kernel (or the response has closed). */
function flushed(res: http.ServerResponse, piece: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    res.write(piece, done);
  });
}

type Resolved = { kind: 'file'; file: string; stat: Stats } | { kind: 'missing' | 'refused' };

/**
 * Maps a raw request path to a file under root. The raw path is checked segment by segment (not
 * normalised first), so `..`, encoded slashes and NULs are refused rather than silently resolved;
 * dot-files (the build's marker and staging dirs) do not exist as far as clients know; a symlink
 * that leads out of root is refused.
 */
async function resolveSafely(root: string, rawPath: string): Promise<Resolved> {
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { kind: 'refused' };
    }
    if (seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0'))
      return { kind: 'refused' };
    if (seg === '' || seg === '.') continue;
    if (seg.startsWith('.')) return { kind: 'missing' };
    segments.push(seg);
  }
  if (segments.length === 0) return { kind: 'missing' };
  let real: string;
  try {
    real = await realpath(path.join(root, ...segments));
  } catch {
    return { kind: 'missing' };
  }
  if (!real.startsWith(root + path.sep)) return { kind: 'refused' };
  const st = await stat(real);
  return st.isFile() ? { kind: 'file', file: real, stat: st } : { kind: 'missing' };
}

function contentType(urlPath: string): string {
  if (urlPath.endsWith('.txt') || isChecksumPath(urlPath)) return 'text/plain; charset=utf-8';
  if (urlPath.endsWith('.tar.gz') || urlPath.endsWith('.tgz')) return 'application/gzip';
  return 'application/octet-stream';
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/**
 * One `bytes=` range (RFC 9110 §14). Several ranges, a malformed header or a stale If-Range mean
 * "send the whole file", which the RFC allows; a start past the end is 416.
 */
function pickRange(
  header: string | undefined,
  ifRange: string | undefined,
  etag: string,
  lastModified: string,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  if (size === 0) return /^bytes=/.test(header.trim()) ? 'unsatisfiable' : undefined;
  if (ifRange !== undefined) {
    const fresh = ifRange.startsWith('"') ? ifRange === etag : ifRange === lastModified;
    if (!fresh) return undefined;
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}

async function admin(ctx: HandlerCtx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (!isLoopback(req.socket.remoteAddress)) {
    send(res, 403, 'admin endpoints answer loopback clients only\n');
    return;
  }
  const url = new URL(req.url ?? '/', 'http://mirror');
  const json = (status: number, value: unknown) =>
    send(res, status, `${JSON.stringify(value)}\n`, 'application/json');
  const route = `${req.method} ${url.pathname}`;
  try {
    switch (route) {
      case 'GET /_mirror/health':
        json(200, { ok: true, root: ctx.root, pid: process.pid });
        return;
      case 'GET /_mirror/faults':
        json(200, { faults: ctx.faults.list() });
        return;
      case 'PUT /_mirror/faults':
        json(200, { faults: ctx.faults.replace(parseFaults(await readJson(req))) });
        return;
      case 'POST /_mirror/faults':
        json(200, { faults: ctx.faults.add(parseFaults(await readJson(req))) });
        return;
      case 'DELETE /_mirror/faults':
        ctx.faults.clear();
        json(200, { faults: [] });
        return;
      case 'GET /_mirror/log': {
        const since = Number(url.searchParams.get('since') ?? 0);
        json(200, { entries: ctx.entries.filter((e) => e.seq > since) });
        return;
      }
      case 'DELETE /_mirror/log':
        ctx.clearLog();
        json(200, { entries: [] });
        return;
      default:
        json(404, { error: `no admin route ${route}` });
    }
  } catch (err) {
    json(400, { error: err instanceof Error ? err.message : String(err) });
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > 1 << 20) throw new Error('admin request body over 1 MiB');
    parts.push(chunk);
  }
  return JSON.parse(Buffer.concat(parts).toString('utf8') || '[]');
}

/** Reads a mirror's JSON-lines access log file (as written with `logFile`). */
export async function readAccessLog(file: string): Promise<AccessLogEntry[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AccessLogEntry);
}
