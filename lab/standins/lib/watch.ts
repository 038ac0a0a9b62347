/**
 * Watch with resourceVersion semantics (staging/src/k8s.io/apiserver/pkg/storage/cacher and
 * etcd3/watcher.go): `?watch=1&resourceVersion=N` streams the changes after N as newline-delimited
 * {"type":"ADDED|MODIFIED|DELETED","object":...}; without N (or with 0) the current objects come
 * first as ADDED. The resourceVersion is etcd's revision, so once the apiserver's compactor has
 * dropped N the watch answers, like the cacher, 200 with one ERROR event carrying a 410 Expired
 * Status ("too old resource version: N (M)"), and the client must list again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Obj, statusObject } from './api-types.js';
import type { Etcd } from './etcd.js';

export interface WatchRequest {
  etcd: Etcd;
  prefix: string;
  resourceVersion: string | null;
  timeoutSeconds: number;
  matches: (o: Obj) => boolean;
}

function decode(value: string, rv: string): Obj {
  const o = JSON.parse(value) as Obj;
  o.metadata.resourceVersion = rv;
  return o;
}

export async function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  const send = (type: string, object: Obj) => res.write(`${JSON.stringify({ type, object })}\n`);
  let from = w.resourceVersion;
  if (!from || from === '0') {
    const now = await w.etcd.range(w.prefix);
    for (const kv of now.kvs) {
      const o = decode(kv.value, kv.modRevision);
      if (w.matches(o)) send('ADDED', o);
    }
    from = now.revision;
  }
  const requested = from;
  await new Promise<void>((resolve) => {
    const stop = w.etcd.watch(w.prefix, String(BigInt(from!) + 1n), {
      onEvent: (e) => {
        const prev = e.prevValue ? decode(e.prevValue, e.modRevision) : undefined;
        const wasIn = prev !== undefined && w.matches(prev);
        if (e.type === 'DELETE') {
          if (wasIn) send('DELETED', prev!);
          return;
        }
        const o = decode(e.value, e.modRevision);
        const isIn = w.matches(o);
        // an object that leaves a selector is DELETED for that watcher, one that enters is ADDED
        if (isIn) send(wasIn ? 'MODIFIED' : 'ADDED', o);
        else if (wasIn) send('DELETED', o);
      },
      onCompacted: (compactRevision) => {
        send(
          'ERROR',
          statusObject(410, 'Expired', `too old resource version: ${requested} (${compactRevision})`),
        );
      },
      onEnd: () => {
        clearTimeout(timer);
        resolve();
      },
    });
    const timer = setTimeout(stop, w.timeoutSeconds * 1000);
    req.on('close', stop);
  });
  res.end();
}
