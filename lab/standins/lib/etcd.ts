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

const b64 = (s: string) => Buffer.from(s).toString('base64');
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
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const r = await this.any<{ kvs?: { key: string; value?: string; mod_revision?: string }[] }>(
      '/v3/kv/range',
      {
        key: b64(prefix),
        range_end: b64(end),
      },
    );
    return (r.kvs ?? []).map((kv) => ({
      key: unb64(kv.key),
      value: unb64(kv.value ?? ''),
      modRevision: kv.mod_revision ?? '0',
    }));
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
