// The `slow` fault's relay. This kernel has no netem (CONFIG_NET_SCH_NETEM is not set, nor fq), so
// latency is added in user space: it runs in the lab's sealed namespace, where a DNAT rule sends a
// slowed host's port 22 here, and it forwards each connection to the host after the delay, holding
// every client-to-host chunk back by the same delay. Connects and round trips both take ≥ MS longer.
// Usage: slow-relay.ts LABDIR   (reads LABDIR/slow.json again on SIGHUP; exits when it is empty)
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface SlowEntry {
  ip: string;
  port: number;
  listen: string;
  ms: number;
}

const dir = process.argv[2];
const servers = new Map<number, { server: Server; entry: SlowEntry }>();

function relay(client: Socket, entry: SlowEntry): void {
  const ms = entry.ms;
  const held: Buffer[] = [];
  let upstream: Socket | undefined;
  const closeBoth = () => {
    client.destroy();
    upstream?.destroy();
  };
  // Chunks scheduled with the same delay fire in arrival order, so the stream stays intact.
  client.on('data', (chunk) => setTimeout(() => (upstream ? upstream.write(chunk) : held.push(chunk)), ms));
  client.on('end', () => setTimeout(() => upstream?.end(), ms));
  client.on('error', closeBoth);
  client.on('close', () => setTimeout(closeBoth, ms));
  setTimeout(() => {
    if (client.destroyed) return;
    const up = connect({ host: entry.ip, port: 22 });
    upstream = up;
    for (const chunk of held.splice(0)) up.write(chunk);
    up.on('data', (chunk) => client.write(chunk));
    up.on('end', () => client.end());
    up.on('error', closeBoth);
    up.on('close', () => client.destroy());
  }, ms);
}

function reload(): void {
  const wanted: Record<string, SlowEntry> = JSON.parse(readFileSync(`${dir}/slow.json`, 'utf8'));
  const ports = new Set(Object.values(wanted).map((e) => e.port));
  for (const [port, s] of servers) {
    if (!ports.has(port)) {
      s.server.close();
      servers.delete(port);
    }
  }
  for (const entry of Object.values(wanted)) {
    const current = servers.get(entry.port);
    if (current) {
      current.entry.ms = entry.ms;
      continue;
    }
    const slot = { entry, server: createServer((c) => relay(c, slot.entry)) };
    slot.server.listen(entry.port, entry.listen);
    servers.set(entry.port, slot);
  }
  if (servers.size === 0) process.exit(0);
}

process.on('SIGHUP', reload);
reload();
