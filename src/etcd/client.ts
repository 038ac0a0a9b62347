import { request } from 'node:http';
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

/**
 * A client for etcd's v3 JSON gateway (the grpc-gateway every etcd since 3.3 serves on its client
 * port, `--enable-grpc-gateway` on by default). Speaking JSON over HTTPS keeps kubeon free of a gRPC
 * stack and of any etcdctl on the nodes: the control machine talks to each member itself, through
 * an SSH tunnel to the master's loopback, with a client certificate from kubeon's own etcd CA.
 */

/** TLS material of a client of the etcd CA. The key stays in memory; it is never written. */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

/** One member's client endpoint: how to open a byte stream to it, and the name its certificate carries. */
export interface EtcdEndpoint {
  /** The member as the user knows it (node name), for messages. */
  name: string;
  /** A fresh stream to the member's client port (an SSH tunnel, or a plain TCP socket in tests). */
  dial: () => Promise<Duplex>;
  /** A name or IP in the member's server certificate (kubeadm's etcd server SANs include localhost). */
  servername: string;
}

export interface Member {
  /** etcd's member ID as etcdctl prints it: 16 hex digits. */
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberStatus {
  endpoint: string;
  memberId: string;
  version: string;
  dbSize: number;
  dbSizeInUse: number | undefined;
  leaderId: string;
  isLeader: boolean;
  raftIndex: number;
  raftTerm: number;
  errors: string[];
}

export class EtcdRequestError extends Error {
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(`etcd ${endpoint}: ${message}`);
    this.name = 'EtcdRequestError';
  }
}

/** grpc-gateway renders uint64 as a decimal string; etcdctl shows member IDs as 16 hex digits. */
export function memberIdHex(decimal: string | number | undefined): string {
  if (decimal === undefined) return '';
  return BigInt(decimal).toString(16).padStart(16, '0');
}

function memberIdDecimal(hex: string): string {
  if (!/^[0-9a-f]{1,16}$/i.test(hex)) throw new Error(`"${hex}" is not an etcd member ID (16 hex digits)`);
  return BigInt(`0x${hex}`).toString(10);
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Opened {
  socket: TLSSocket;
}

async function openTls(ep: EtcdEndpoint, tls: EtcdTls, timeoutMs: number): Promise<Opened> {
  const raw = await ep.dial();
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      socket: raw,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: ep.servername,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EtcdRequestError(ep.name, `TLS handshake did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      raw.destroy();
      reject(new EtcdRequestError(ep.name, err.message));
    });
  });
}

export class EtcdClient {
  constructor(
    private readonly tls: EtcdTls,
    private readonly timeoutMs = 10_000,
  ) {}

  /** POSTs `body` to a gateway path and calls `onChunk` for each newline-delimited JSON object. */
  private async stream(
    ep: EtcdEndpoint,
    path: string,
    body: unknown,
    onObject: (obj: Record<string, unknown>) => void,
    timeoutMs = this.timeoutMs,
  ): Promise<void> {
    const { socket } = await openTls(ep, this.tls, this.timeoutMs);
    const payload = JSON.stringify(body);
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        req.destroy();
        socket.destroy();
        reject(new EtcdRequestError(ep.name, message));
      };
      const timer = setTimeout(() => fail(`${path} did not answer within ${timeoutMs} ms`), timeoutMs);
      const req = request(
        {
          method: 'POST',
          path,
          host: ep.servername,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          createConnection: () => socket,
        },
        (res) => {
          let pending = '';
          const texts: string[] = [];
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (line) texts.push(line);
            }
            if ((res.statusCode ?? 0) < 300) {
              try {
                for (const t of texts.splice(0)) onObject(JSON.parse(t) as Record<string, unknown>);
              } catch (err) {
                fail(`${path}: ${(err as Error).message}`);
              }
            }
          });
          res.on('end', () => {
            clearTimeout(timer);
            socket.destroy();
            if (pending.trim()) texts.push(pending.trim());
            if ((res.statusCode ?? 0) >= 300) {
              reject(
                new EtcdRequestError(
                  ep.name,
                  `${path}: HTTP ${res.statusCode}: ${gatewayMessage(texts.join(''))}`,
                ),
              );
              return;
            }
            try {
              for (const t of texts) onObject(JSON.parse(t) as Record<string, unknown>);
              resolve();
            } catch (err) {
              reject(new EtcdRequestError(ep.name, `${path}: ${(err as Error).message}`));
            }
          });
          res.on('error', (err) => fail(err.message));
        },
      );
      req.on('error', (err) => fail(err.message));
      req.end(payload);
    });
  }

  private async call(ep: EtcdEndpoint, path: string, body: unknown = {}): Promise<Record<string, unknown>> {
    let out: Record<string, unknown> | undefined;
    await this.stream(ep, path, body, (obj) => {
      out = obj;
    });
    if (!out) throw new EtcdRequestError(ep.name, `${path}: empty answer`);
    const error = streamError(out);
    if (error) throw new EtcdRequestError(ep.name, `${path}: ${error}`);
    return out;
  }

  async members(ep: EtcdEndpoint): Promise<Member[]> {
    const res = await this.call(ep, '/v3/cluster/member/list', { linearizable: true });
    const list = (res.members ?? []) as Record<string, unknown>[];
    return list.map((m) => ({
      id: memberIdHex(m.ID as string),
      name: String(m.name ?? ''),
      peerUrls: (m.peerURLs ?? []) as string[],
      clientUrls: (m.clientURLs ?? []) as string[],
      isLearner: Boolean(m.isLearner),
    }));
  }

  /** Removes a member by its ID (16 hex digits), as `etcdctl member remove` does. */
  async removeMember(ep: EtcdEndpoint, idHex: string): Promise<void> {
    await this.call(ep, '/v3/cluster/member/remove', { ID: memberIdDecimal(idHex) });
  }

  async status(ep: EtcdEndpoint): Promise<MemberStatus> {
    const res = await this.call(ep, '/v3/maintenance/status');
    const header = (res.header ?? {}) as Record<string, unknown>;
    const memberId = memberIdHex(header.member_id as string);
    const leaderId = memberIdHex(res.leader as string);
    return {
      endpoint: ep.name,
      memberId,
      version: String(res.version ?? ''),
      dbSize: Number(res.dbSize ?? 0),
      dbSizeInUse: res.dbSizeInUse === undefined ? undefined : Number(res.dbSizeInUse),
      leaderId,
      isLeader: memberId !== '' && memberId === leaderId,
      raftIndex: Number(res.raftIndex ?? 0),
      raftTerm: Number(res.raftTerm ?? 0),
      errors: (res.errors ?? []) as string[],
    };
  }

  /**
   * A member is healthy when it answers a linearizable read: that needs a leader and a quorum, which
   * is what `etcdctl endpoint health` checks too (a range on a missing key).
   */
  async health(ep: EtcdEndpoint): Promise<{ healthy: boolean; tookMs: number; error?: string }> {
    const start = performance.now();
    try {
      await this.call(ep, '/v3/kv/range', { key: b64('health') });
      return { healthy: true, tookMs: Math.round(performance.now() - start) };
    } catch (err) {
      return { healthy: false, tookMs: Math.round(performance.now() - start), error: (err as Error).message };
    }
  }

  async defragment(ep: EtcdEndpoint, timeoutMs = 120_000): Promise<void> {
    let out: Record<string, unknown> | undefined;
    await this.stream(
      ep,
      '/v3/maintenance/defragment',
      {},
      (obj) => {
        out = obj;
      },
      timeoutMs,
    );
    const error = out && streamError(out);
    if (error) throw new EtcdRequestError(ep.name, `defragment: ${error}`);
  }

  async put(ep: EtcdEndpoint, key: string, value: string): Promise<void> {
    await this.call(ep, '/v3/kv/put', { key: b64(key), value: b64(value) });
  }

  async get(ep: EtcdEndpoint, key: string): Promise<string | undefined> {
    const res = await this.call(ep, '/v3/kv/range', { key: b64(key) });
    const kvs = (res.kvs ?? []) as { value?: string }[];
    const value = kvs[0]?.value;
    return value === undefined
      ? kvs.length
        ? ''
        : undefined
      : Buffer.from(value, 'base64').toString('utf8');
  }

  /**
   * Streams a snapshot of the member's backend, as `etcdctl snapshot save` receives it: the db file
   * followed by its sha256 (etcd appends it; restore checks it). `write` gets each blob in order.
   */
  async snapshot(
    ep: EtcdEndpoint,
    write: (chunk: Buffer) => Promise<void> | void,
    timeoutMs = 30 * 60_000,
  ): Promise<void> {
    let chain = Promise.resolve();
    let failure: unknown;
    await this.stream(
      ep,
      '/v3/maintenance/snapshot',
      {},
      (obj) => {
        const error = streamError(obj);
        if (error) {
          failure = new EtcdRequestError(ep.name, `snapshot: ${error}`);
          return;
        }
        const blob = (obj.result as { blob?: string } | undefined)?.blob;
        if (!blob) return;
        const data = Buffer.from(blob, 'base64');
        chain = chain.then(() => write(data));
      },
      timeoutMs,
    );
    await chain;
    if (failure) throw failure;
  }
}

/** A gateway stream carries errors in-band as {"error": {...}}; a unary call as {"error": "...", "code": N}. */
function streamError(obj: Record<string, unknown>): string | undefined {
  const e = obj.error;
  if (e === undefined) return undefined;
  if (typeof e === 'string') return e;
  const m = (e as { message?: string }).message;
  return m ?? JSON.stringify(e);
}

function gatewayMessage(text: string): string {
  try {
    const obj = JSON.parse(text) as Record<string, unknown>;
    return streamError(obj) ?? String(obj.message ?? text);
  } catch {
    return text.slice(0, 200) || 'no body';
  }
}
