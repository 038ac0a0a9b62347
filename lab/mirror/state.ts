/** Where a CLI-started mirror keeps its PID, URLs, log and certificates, shared by cli.ts and daemon.ts. */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaultInput } from './faults.js';

export interface DaemonConfig {
  stateDir: string;
  root: string;
  port: number;
  bind: string[];
  logFile: string;
  tls?: { certFile: string; keyFile: string; caFile: string };
  faults: FaultInput[];
}

/** What `state.json` holds while a mirror runs (and what `start --json` prints). */
export interface MirrorState {
  url: string;
  urls: string[];
  pid: number;
  port: number;
  root: string;
  log: string;
  caFile?: string;
  startedAt: string;
}

export const statePaths = (stateDir: string) => ({
  state: path.join(stateDir, 'state.json'),
  pid: path.join(stateDir, 'mirror.pid'),
  log: path.join(stateDir, 'access.log'),
  daemonLog: path.join(stateDir, 'daemon.log'),
  tls: path.join(stateDir, 'tls'),
  root: path.join(stateDir, 'root'),
});

export interface RegistryDaemonConfig {
  stateDir: string;
  host: string;
  port: number;
  /** `USER:PASSWORD` turns on token auth. */
  user?: string;
  anonymousPull: boolean;
  /** Upstream references to push (see images.ts). */
  images: string[];
}

export interface RegistryState {
  url: string;
  host: string;
  /** The daemon's PID (docker-registry is its child, `registryPid`). */
  pid: number;
  registryPid: number;
  tokenUrl?: string;
  service?: string;
  images: { source: string; ref: string; digest: string }[];
  startedAt: string;
}

export const registryPaths = (stateDir: string) => ({
  state: path.join(stateDir, 'registry', 'state.json'),
  pid: path.join(stateDir, 'registry', 'registry.pid'),
  data: path.join(stateDir, 'registry', 'data'),
  daemonLog: path.join(stateDir, 'registry', 'daemon.log'),
});

export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
