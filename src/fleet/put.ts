import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { badInput } from '../core/errors.js';
import { fileProblem } from '../core/file-errors.js';
import type { SftpSession } from './connection.js';
import { type Script, script, sh } from './script.js';

/** A local file or directory tree to copy, with each file's size, mode and sha256 known up front. */
export interface LocalFile {
  /** Path relative to the tree root, '/'-separated; '' for a single-file source. */
  rel: string;
  path: string;
  size: number;
  mode: number;
  sha256: string;
}

export interface LocalTree {
  kind: 'file' | 'dir';
  root: string;
  files: LocalFile[];
  /** Symbolic links under the root, copied as links (target as written, not followed). */
  links: { rel: string; target: string }[];
  /** Directories under the root, relative, parents before children. */
  dirs: string[];
  bytes: number;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function scanLocal(src: string): Promise<LocalTree> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(src);
  } catch (err) {
    throw badInput(fileProblem(src, err), 'give an existing local file or directory');
  }
  if (st.isFile()) {
    const file = { rel: '', path: src, size: st.size, mode: st.mode & 0o7777, sha256: await sha256File(src) };
    return { kind: 'file', root: src, files: [file], links: [], dirs: [], bytes: st.size };
  }
  if (!st.isDirectory()) throw badInput(`${src} is neither a file nor a directory`, 'copy regular files');
  const files: LocalFile[] = [];
  const links: LocalTree['links'] = [];
  const special: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.push(r);
        await walk(p, r);
      } else if (e.isFile()) {
        const s = await stat(p);
        files.push({ rel: r, path: p, size: s.size, mode: s.mode & 0o7777, sha256: await sha256File(p) });
      } else if (e.isSymbolicLink()) {
        links.push({ rel: r, target: await readlink(p) });
      } else {
        special.push(p);
      }
    }
  };
  await walk(src, '');
  // Nothing is skipped silently: a FIFO, socket or device has no content to copy.
  if (special.length)
    throw badInput(
      `${src} holds ${special.length} FIFO, socket or device file(s), which cannot be copied: ${special.slice(0, 5).join(', ')}`,
      'copy a directory of regular files, directories and symbolic links',
    );
  return { kind: 'dir', root: src, files, links, dirs, bytes: files.reduce((n, f) => n + f.size, 0) };
}

export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Where a copy lands. A file goes to DEST, or into DEST when DEST ends with '/' or is a directory
 * on the node; a directory's contents are merged into DEST.
 */
export interface PutLayout {
  dest: string;
  /** For a single file whose DEST may turn out to be a directory on the node. */
  probeDir: boolean;
  finals: string[];
}

export function layout(tree: LocalTree, dest: string): PutLayout {
  if (dest === '') throw badInput('empty destination path', 'give an absolute path on the nodes');
  if (!dest.startsWith('/'))
    throw badInput(`destination "${dest}" is not absolute`, 'give a path starting with /');
  if (tree.kind === 'dir') {
    const base = dest.replace(/\/+$/, '') || '/';
    return { dest: base, probeDir: false, finals: tree.files.map((f) => posix.join(base, f.rel)) };
  }
  const name = posix.basename(tree.root.replace(/\/+$/, ''));
  if (dest.endsWith('/')) return { dest, probeDir: false, finals: [posix.join(dest, name)] };
  return { dest, probeDir: true, finals: [dest] };
}

/**
 * sha256 of a file on the node. OpenSSL's digest is about six times faster than coreutils
 * sha256sum where both exist (SHA extensions), which matters when hundreds of MB land on many nodes.
 */
const SUM = sh`sum() { if command -v openssl >/dev/null 2>&1; then h=$(openssl dgst -sha256 -r < "$1"); else h=$(sha256sum < "$1"); fi; echo "\${h%% *}"; }`;

/**
 * Probe before sending: creates the destination directories and prints, for each final path that
 * already holds a regular file, "INDEX SHA256 MODE" so identical files are not sent again.
 * "D" first means a single-file DEST is a directory (the file goes inside it, same name).
 */
export function renderProbe(tree: LocalTree, l: PutLayout): Script {
  if (l.probeDir) {
    const name = posix.basename(tree.root.replace(/\/+$/, ''));
    return script(
      `probe ${l.dest}`,
      sh`t=${l.dest}`,
      sh`if [ -d "$t" ]; then t="$t"/${name}; echo D; fi`,
      sh`mkdir -p -- "$(dirname -- "$t")"`,
      SUM,
      sh`if [ -f "$t" ]; then echo "0 $(sum "$t") $(stat -c %a -- "$t")"; fi`,
    );
  }
  const dirs = [...new Set(l.finals.map((f) => posix.dirname(f)))].concat(
    tree.dirs.map((d) => posix.join(l.dest, d)),
  );
  return script(
    `probe ${l.dest}`,
    sh`mkdir -p -- ${[...new Set(dirs)]}`,
    SUM,
    sh`i=0`,
    sh`for f in ${l.finals}; do`,
    sh`  if [ -f "$f" ]; then echo "$i $(sum "$f") $(stat -c %a -- "$f")"; fi`,
    sh`  i=$((i+1))`,
    sh`done`,
  );
}

export interface ProbeResult {
  isDir: boolean;
  existing: Map<number, { sha256: string; mode: number }>;
}

export function parseProbe(stdout: string): ProbeResult {
  const existing = new Map<number, { sha256: string; mode: number }>();
  let isDir = false;
  for (const line of stdout.split('\n')) {
    if (line === 'D') isDir = true;
    const m = /^(\d+) ([0-9a-f]{64}) ([0-7]{1,4})$/.exec(line);
    if (m) existing.set(Number(m[1]), { sha256: m[2]!, mode: Number.parseInt(m[3]!, 8) });
  }
  return { isDir, existing };
}

export interface Placement {
  /** Where the bytes were uploaded. */
  staged: string;
  /** Temporary name next to the final path; the rename from here is atomic. */
  tmp: string;
  final: string;
  mode: string;
  sha256: string;
}

/**
 * Moves staged uploads into place: copy next to the destination when staged elsewhere, check the
 * sha256, set the mode, rename over the final name. A file that fails the check is removed, so the
 * final name only ever holds a complete, verified file.
 */
export function renderPlace(
  placements: readonly Placement[],
  chmods: readonly { final: string; mode: string }[],
  links: readonly { final: string; target: string }[] = [],
): Script {
  return script(
    `place ${placements.length} file(s)${links.length ? `, ${links.length} link(s)` : ''}`,
    SUM,
    // The temporary name beside the destination exists only while this script runs: removed if it stops.
    sh`tmp=`,
    sh`trap 'if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi' EXIT`,
    sh`trap 'exit 143' TERM HUP INT`,
    sh`place() {`,
    sh`  tmp=$2`,
    sh`  mv -f -- "$1" "$2"`,
    sh`  got=$(sum "$2")`,
    sh`  if [ "$got" != "$5" ]; then rm -f -- "$2"; echo "sha256 mismatch for $3: expected $5, got $got" >&2; exit 3; fi`,
    sh`  chmod -- "$4" "$2"`,
    sh`  mv -f -- "$2" "$3"`,
    sh`  tmp=`,
    sh`}`,
    ...placements.map((p) => sh`place ${p.staged} ${p.tmp} ${p.final} ${p.mode} ${p.sha256}`),
    ...chmods.map((c) => sh`chmod -- ${c.mode} ${c.final}`),
    ...links.map((l) => sh`ln -sfn -- ${l.target} ${l.final}`),
  );
}

const CHUNK = 64 * 1024;
const WINDOW = 32;

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/**
 * Uploads with up to WINDOW writes in flight, like fastPut, reading the local file by position so
 * many nodes can share one source file; `onBytes` is called as each write is acknowledged.
 */
export async function upload(
  session: SftpSession,
  file: LocalFile,
  remote: string,
  onBytes: (n: number) => void,
): Promise<void> {
  const { sftp, closed } = session;
  const handle = await Promise.race([
    closed,
    sftpCall<Buffer>((cb) => sftp.open(remote, 'w', { mode: 0o600 }, cb)),
  ]);
  const fh = await open(file.path, 'r');
  try {
    await new Promise<void>((resolve, reject) => {
      closed.catch(reject);
      let next = 0;
      let inflight = 0;
      let failed = false;
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const pump = () => {
        if (failed) return;
        if (next >= file.size && inflight === 0) return resolve();
        while (inflight < WINDOW && next < file.size) {
          const pos = next;
          const len = Math.min(CHUNK, file.size - pos);
          next += len;
          inflight++;
          const buf = Buffer.allocUnsafe(len);
          fh.read(buf, 0, len, pos).then(({ bytesRead }) => {
            if (bytesRead !== len) return fail(new Error(`${file.path} changed while it was being copied`));
            sftp.write(handle, buf, 0, len, pos, (err) => {
              inflight--;
              if (err) return fail(err);
              onBytes(len);
              pump();
            });
          }, fail);
        }
      };
      pump();
    });
  } finally {
    await fh.close();
    await Promise.race([closed, sftpCall<void>((cb) => sftp.close(handle, cb as never))]).catch(
      () => undefined,
    );
  }
}
