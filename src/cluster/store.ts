import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { badInput, ExitCode, KubeonError } from '../core/errors.js';
import { acquireLock, type HeldLock } from './lock.js';
import { validateClusterName } from './name.js';
import type { ClusterSpec } from './spec.js';
import type { ClusterState } from './state.js';
import { specSummaryFile } from './summary.js';

/**
 * The multi-cluster store under the kubeon home:
 *   clusters/<name>/{cluster.yaml, summary.json, state.json, pki/, kubeconfig, known_hosts, logs/, .lock}
 *   cache/   current   image-digests (the digest each image tag resolved to at first use)
 * Directories are 0700 and every file 0600: cluster.yaml may hold passwords, pki/ holds CA keys.
 * YAML and the schemas (zod) are loaded when a file is read or written, not when the store is made:
 * `--help` and `use` never need them.
 */

/** A store file that exists but cannot be used: names the file, what is wrong and the fix. */
function corrupt(path: string, what: string, fix: string): KubeonError {
  return new KubeonError(`${path} is damaged: ${what}`, { exitCode: ExitCode.badInput, hint: fix });
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0]!;
}

export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBEON_HOME ? resolve(env.KUBEON_HOME) : join(homedir(), '.kubeon');
}

export interface ClusterPaths {
  dir: string;
  spec: string;
  /** What `kubeon list` shows of cluster.yaml, so it need not parse YAML (summary.ts). */
  summary: string;
  state: string;
  pki: string;
  kubeconfig: string;
  knownHosts: string;
  logs: string;
  lock: string;
}

export class Store {
  readonly home: string;

  constructor(home: string) {
    this.home = resolve(home);
  }

  get cacheDir(): string {
    return join(this.home, 'cache');
  }

  /** Machine-wide, like the cache whose images it vouches for (see artifacts/image-pins.ts). */
  get imageDigests(): string {
    return join(this.home, 'image-digests');
  }

  get clustersDir(): string {
    return join(this.home, 'clusters');
  }

  paths(name: string): ClusterPaths {
    const dir = join(this.clustersDir, validateClusterName(name));
    return {
      dir,
      spec: join(dir, 'cluster.yaml'),
      summary: join(dir, 'summary.json'),
      state: join(dir, 'state.json'),
      pki: join(dir, 'pki'),
      kubeconfig: join(dir, 'kubeconfig'),
      knownHosts: join(dir, 'known_hosts'),
      logs: join(dir, 'logs'),
      lock: join(dir, '.lock'),
    };
  }

  private async ensureDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is masked by umask and ignored for existing directories.
    await chmod(dir, 0o700);
  }

  async init(): Promise<void> {
    await this.ensureDir(this.home);
    await this.ensureDir(this.clustersDir);
    await this.ensureDir(this.cacheDir);
  }

  exists(name: string): boolean {
    return existsSync(this.paths(name).spec);
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(this.clustersDir, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && existsSync(join(this.clustersDir, e.name, 'cluster.yaml')))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Fails with exit 2 naming the known clusters when `name` is not one of them. */
  async requireCluster(name: string): Promise<ClusterPaths> {
    const paths = this.paths(name);
    if (!existsSync(paths.spec)) {
      const known = await this.list();
      throw badInput(
        `unknown cluster "${name}"`,
        known.length
          ? `known clusters: ${known.join(', ')}`
          : 'create one with kubeon create NAME VERSION -m IP',
      );
    }
    return paths;
  }

  async readSpec(name: string): Promise<ClusterSpec> {
    const paths = await this.requireCluster(name);
    const text = await readFile(paths.spec, 'utf8');
    const [{ default: YAML }, { validateSpec }] = await Promise.all([
      import('yaml'),
      import('./validate.js'),
    ]);
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch (err) {
      throw corrupt(paths.spec, `not valid YAML: ${firstLine(err)}`, 'fix the YAML (kubeon view schema)');
    }
    if (!doc || typeof doc !== 'object')
      throw corrupt(paths.spec, 'empty or not a mapping', 'restore the cluster spec (kubeon view schema)');
    return validateSpec(doc, paths.spec).spec;
  }

  async writeSpec(spec: ClusterSpec): Promise<void> {
    const paths = this.paths(spec.name);
    await this.init();
    await this.ensureDir(paths.dir);
    const { default: YAML } = await import('yaml');
    const header = `# kubeon cluster spec; edit with care. Schema: kubeon view schema\n`;
    const text = header + YAML.stringify(spec);
    await writeFileAtomic(paths.spec, text, 0o600);
    await writeFileAtomic(paths.summary, specSummaryFile(text, spec), 0o600);
  }

  async readState(name: string): Promise<ClusterState | undefined> {
    const path = this.paths(name).state;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const fix = `repair it, or move it aside to start a new journal (kubeon then re-checks every step)`;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw corrupt(path, `not valid JSON: ${firstLine(err)}`, fix);
    }
    const { ClusterStateSchema } = await import('./state.js');
    const parsed = ClusterStateSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = issue.path.map(String).join('.') || '(top level)';
      throw corrupt(path, `${at}: ${issue.message}`, fix);
    }
    return parsed.data;
  }

  async writeState(name: string, state: ClusterState): Promise<void> {
    const paths = this.paths(name);
    await this.ensureDir(paths.dir);
    await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }

  async current(): Promise<string | undefined> {
    try {
      const name = (await readFile(join(this.home, 'current'), 'utf8')).trim();
      return name && this.exists(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }

  async setCurrent(name: string): Promise<void> {
    await this.init();
    await writeFileAtomic(join(this.home, 'current'), `${name}\n`, 0o600);
  }

  async remove(name: string): Promise<void> {
    const paths = this.paths(name);
    await rm(paths.dir, { recursive: true, force: true });
    if ((await this.current()) === undefined) await rm(join(this.home, 'current'), { force: true });
  }

  /** Takes the cluster's lock for the duration of one command. */
  async lock(name: string, command: string): Promise<HeldLock> {
    const paths = this.paths(name);
    await this.ensureDir(paths.dir);
    return acquireLock(paths.lock, name, command);
  }

  async ensureClusterDirs(name: string): Promise<ClusterPaths> {
    const paths = this.paths(name);
    for (const d of [paths.dir, paths.pki, paths.logs]) await this.ensureDir(d);
    return paths;
  }

  async fileMode(path: string): Promise<number> {
    return (await stat(path)).mode & 0o777;
  }
}
