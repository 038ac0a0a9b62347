/**
 * Talks to the real etcd through its v3 JSON gateway (present in etcd 3.4 and later) over mutual
 * TLS, with the same client certificates kubeadm and the apiserver use. Keys and values are base64
 * in that API; member IDs are decimal uint64 strings.
 */
import { request } from 'node:https';

export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

export interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export interface EtcdEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
  modRevision: string;
  createRevision: string;
  prevValue?: string;
}

interface WatchResult {
  compact_revision?: string;
  events?: {
    type?: string;
    kv: { key: string; value?: string; mod_revision?: string; create_revision?: string };
    prev_kv?: { value?: string };
  }[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const prefixEnd = (p: string) => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export class Etcd {
  constructor(
    readonly endpoints: string[],
    readonly tls: EtcdTls,
  ) {}

  private post<T>(endpoint: string, path: string, body: unknown, timeoutMs = 5000): Promise<T> {
    const url = new URL(path, endpoint);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: this.tls.ca,
          cert: this.tls.cert,
          key: this.tls.key,
          agent: false,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) {
              let msg = text;
              try {
                msg = (JSON.parse(text) as { error?: string; message?: string }).message ?? msg;
              } catch {}
              reject(new Error(`etcd ${path}: ${msg.trim()}`));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new Error(`etcd ${path}: unreadable answer`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`etcd ${endpoint}: context deadline exceeded`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  /** Tries each endpoint in turn, like clientv3's balancer does. */
  private async any<T>(path: string, body: unknown): Promise<T> {
    let last: unknown;
    for (const ep of this.endpoints) {
      try {
        return await this.post<T>(ep, path, body);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  async members(): Promise<Member[]> {
    const r = await this.any<{ members?: Member[] }>('/v3/cluster/member/list', {});
    return r.members ?? [];
  }

  async addLearner(peerURL: string): Promise<{ member: Member; members: Member[] }> {
    return this.any('/v3/cluster/member/add', { peerURLs: [peerURL], isLearner: true });
  }

  async promote(id: string): Promise<void> {
    await this.any('/v3/cluster/member/promote', { ID: id });
  }

  async removeMember(id: string): Promise<void> {
    await this.any('/v3/cluster/member/remove', { ID: id });
  }

  async get(key: string): Promise<{ value: string; modRevision: string } | undefined> {
    const r = await this.any<{ kvs?: { value?: string; mod_revision?: string }[] }>('/v3/kv/range', {
      key: b64(key),
    });
    const kv = r.kvs?.[0];
    return kv ? { value: unb64(kv.value ?? ''), modRevision: kv.mod_revision ?? '0' } : undefined;
  }

  async list(prefix: string): Promise<{ key: string; value: string; modRevision: string }[]> {
    return (await this.range(prefix)).kvs;
  }

  /** A prefix range with the store revision it was read at: what a list's resourceVersion is. */
  async range(
    prefix: string,
  ): Promise<{ kvs: { key: string; value: string; modRevision: string }[]; revision: string }> {
    const r = await this.any<{
      header?: { revision?: string };
      kvs?: { key: string; value?: string; mod_revision?: string }[];
    }>('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)) });
    return {
      kvs: (r.kvs ?? []).map((kv) => ({
        key: unb64(kv.key),
        value: unb64(kv.value ?? ''),
        modRevision: kv.mod_revision ?? '0',
      })),
      revision: r.header?.revision ?? '0',
    };
  }

  /**
   * Writes only if the key's mod revision is still `expected` ('0' = the key must not exist): the
   * guarded update the apiserver's etcd3 store does for every write (GuaranteedUpdate / Create).
   * Returns the new revision, or undefined when the guard failed.
   */
  async putIf(key: string, value: string, expected: string): Promise<string | undefined> {
    const r = await this.any<{ succeeded?: boolean; header?: { revision?: string } }>('/v3/kv/txn', {
      compare: [
        expected === '0'
          ? { key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: '0' }
          : { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: expected },
      ],
      success: [{ request_put: { key: b64(key), value: b64(value) } }],
    });
    return r.succeeded ? (r.header?.revision ?? '0') : undefined;
  }

  /** Deletes only if the key's mod revision is still `expected`. */
  async deleteIf(key: string, expected: string): Promise<boolean> {
    const r = await this.any<{ succeeded?: boolean }>('/v3/kv/txn', {
      compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: expected }],
      success: [{ request_delete_range: { key: b64(key) } }],
    });
    return r.succeeded === true;
  }

  /** Drops history up to `revision`, as the apiserver's compactor does every --etcd-compaction-interval. */
  async compact(revision: string): Promise<void> {
    await this.any('/v3/kv/compaction', { revision });
  }

  /**
   * Streams the changes under `prefix` from `startRevision` on. `onEvent` gets each change;
   * `onCompacted` is called instead when that history is gone. Returns a stop function.
   */
  watch(
    prefix: string,
    startRevision: string,
    handlers: {
      onEvent: (e: EtcdEvent) => void;
      onCompacted: (compactRevision: string) => void;
      onEnd: (err?: Error) => void;
    },
  ): () => void {
    const url = new URL('/v3/watch', this.endpoints[0]);
    const req = request(url, {
      method: 'POST',
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
      agent: false,
    });
    let buf = '';
    let done = false;
    const end = (err?: Error) => {
      if (done) return;
      done = true;
      req.destroy();
      handlers.onEnd(err);
    };
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const msg = JSON.parse(line) as { result?: WatchResult; error?: { message?: string } };
          if (msg.error) return end(new Error(`etcd watch: ${msg.error.message ?? line}`));
          const result = msg.result ?? {};
          if (result.compact_revision && result.compact_revision !== '0') {
            handlers.onCompacted(result.compact_revision);
            return end();
          }
          for (const ev of result.events ?? []) {
            const kv = ev.kv;
            handlers.onEvent({
              type: ev.type === 'DELETE' ? 'DELETE' : 'PUT',
              key: unb64(kv.key),
              value: unb64(kv.value ?? ''),
              modRevision: kv.mod_revision ?? '0',
              createRevision: kv.create_revision ?? '0',
              ...(ev.prev_kv ? { prevValue: unb64(ev.prev_kv.value ?? '') } : {}),
            });
          }
        }
      });
      res.on('end', () => end());
      res.on('error', (e) => end(e));
    });
    req.on('error', (e) => end(e));
    req.end(
      JSON.stringify({
        create_request: {
          key: b64(prefix),
          range_end: b64(prefixEnd(prefix)),
          start_revision: startRevision,
          prev_kv: true,
        },
      }),
    );
    return () => end();
  }

  async put(key: string, value: string): Promise<string> {
    const r = await this.any<{ header?: { revision?: string } }>('/v3/kv/put', {
      key: b64(key),
      value: b64(value),
    });
    return r.header?.revision ?? '0';
  }

  async delete(key: string): Promise<boolean> {
    const r = await this.any<{ deleted?: string }>('/v3/kv/deleterange', { key: b64(key) });
    return Number(r.deleted ?? 0) > 0;
  }

  async health(endpoint: string): Promise<boolean> {
    try {
      await this.post(endpoint, '/v3/kv/range', { key: b64('health') }, 2000);
      return true;
    } catch {
      return false;
    }
  }
}
