import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { KubeonError } from '../core/errors.js';
import { parseKubeconfig } from '../pki/kubeconfig.js';

/**
 * A read-only client of the cluster's API with the control machine's kubeconfig: GETs of JSON over
 * mutual TLS, on a byte stream the caller opens (a TCP socket to the API address, or an SSH tunnel
 * through a master when that address is not reachable from here). A few GETs do not warrant a
 * client library (design §13: no kubectl output parsing, no client-node stack to load).
 */

export interface KubeCredentials {
  server: URL;
  ca: string;
  cert: string;
  key: string;
  /** The name the API server's certificate is checked against (kubeconfig `tls-server-name`). */
  servername: string;
}

export interface KubeApi {
  /** How the API is reached, for the screen: `direct` or `tunnel through NODE`. */
  via: string;
  get<T>(path: string): Promise<T>;
}

export async function readCredentials(kubeconfigPath: string): Promise<KubeCredentials> {
  const text = await readFile(kubeconfigPath, 'utf8').catch(() => '');
  const k = parseKubeconfig(text);
  if (!k?.caPem || !k.certPem || !k.keyPem)
    throw new KubeonError(`${kubeconfigPath} is not a kubeconfig with a CA and a client certificate`, {
      hint: 'kubeon writes it at the end of create; re-run kubeon create NAME to write it again',
    });
  const server = new URL(k.server);
  return {
    server,
    ca: k.caPem,
    cert: k.certPem,
    key: k.keyPem,
    servername: k.tlsServerName ?? server.hostname.replace(/^\[|\]$/g, ''),
  };
}

/** A TCP connection to the API address from this machine, or the reason it cannot be made. */
export function dialDirect(server: URL, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({
      host: server.hostname.replace(/^\[|\]$/g, ''),
      port: Number(server.port || 443),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${server.host} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function kubeApi(
  creds: KubeCredentials,
  via: string,
  dial: () => Promise<Duplex>,
  timeoutMs = 30_000,
): KubeApi {
  return {
    via,
    async get<T>(path: string): Promise<T> {
      const raw = await dial();
      const socket = tlsConnect({
        socket: raw,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        servername: creds.servername,
      });
      return new Promise<T>((resolve, reject) => {
        const fail = (message: string) => {
          socket.destroy();
          reject(new KubeonError(`API ${path} (${via}): ${message}`));
        };
        const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
        socket.once('error', (err) => {
          clearTimeout(timer);
          fail(err.message);
        });
        const req = request(
          {
            method: 'GET',
            path,
            host: creds.servername,
            headers: { accept: 'application/json' },
            createConnection: () => socket,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              clearTimeout(timer);
              socket.destroy();
              const text = Buffer.concat(chunks).toString('utf8');
              if ((res.statusCode ?? 0) >= 300) {
                const message = (() => {
                  try {
                    return String((JSON.parse(text) as { message?: string }).message ?? text);
                  } catch {
                    return text.slice(0, 200);
                  }
                })();
                reject(new KubeonError(`API ${path} (${via}): HTTP ${res.statusCode}: ${message}`));
                return;
              }
              try {
                resolve(JSON.parse(text) as T);
              } catch (err) {
                reject(new KubeonError(`API ${path} (${via}): ${(err as Error).message}`));
              }
            });
            res.on('error', (err) => fail(err.message));
          },
        );
        req.on('error', (err) => fail(err.message));
        req.end();
      });
    },
  };
}
