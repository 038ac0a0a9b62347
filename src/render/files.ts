import { createHash } from 'node:crypto';
import { raw, type Script, type ShellFragment, script, sh } from '../fleet/script.js';

/** A file kubeon places on a node: absolute path, mode and exact content. */
export interface NodeFile {
  path: string;
  mode: number;
  content: string;
}

/** Where kubeon keeps its own state on a node; `done/` holds one stamp per finished step. */
export const NODE_STATE_DIR = '/etc/kubeon';

export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * `put PATH MODE CONTENT` for a script: writes next to the target, keeps the old file when the
 * bytes are equal (so a re-run changes no mtime) and renames over it otherwise, so a reader never
 * sees half a file. With `track`, sets `changed=1` when anything was replaced, for a step that must
 * restart a service only then.
 */
export function putFiles(files: readonly NodeFile[], opts: { track?: boolean } = {}): ShellFragment[] {
  if (files.length === 0) return [];
  const track = opts.track ?? false;
  return [
    ...(track ? [raw('changed=0')] : []),
    raw('put() {'),
    raw('  mkdir -p -- "$(dirname -- "$1")"'),
    raw('  printf \'%s\' "$3" > "$1.kubeon-tmp"'),
    raw('  chmod -- "$2" "$1.kubeon-tmp"'),
    raw(
      '  if cmp -s -- "$1.kubeon-tmp" "$1"; then rm -f -- "$1.kubeon-tmp"; chmod -- "$2" "$1"; return 0; fi',
    ),
    raw('  mv -f -- "$1.kubeon-tmp" "$1"'),
    raw(track ? '  changed=1' : '  echo "wrote $1"'),
    raw('}'),
    ...files.map((f) => sh`put ${f.path} ${octalMode(f.mode)} ${f.content}`),
  ];
}

/**
 * A step script with its "already done?" guard. The stamp is the sha256 of the step's own body, so a
 * changed input (version, config, spec) makes the step run again, and an unchanged one is skipped
 * when `stillTrue` (the state that does not survive a reboot by itself) also holds.
 */
export function guardedStep(
  step: string,
  purpose: string,
  body: readonly ShellFragment[],
  stillTrue?: ShellFragment,
): Script {
  const stamp = `${NODE_STATE_DIR}/done/${step}`;
  const digest = stepDigest(body);
  const live = stillTrue ? sh` && ${stillTrue}` : raw('');
  return script(
    purpose,
    sh`stamp=${stamp}`,
    sh`if [ "$(cat -- "$stamp" 2>/dev/null)" = ${digest} ]${live}; then echo ${`${step}: already done`}; exit 0; fi`,
    ...body,
    raw('mkdir -p -- "$(dirname -- "$stamp")"'),
    sh`printf '%s\n' ${digest} > "$stamp"`,
  );
}

export function stepDigest(body: readonly ShellFragment[]): string {
  return createHash('sha256')
    .update(body.map((f) => f.text).join('\n'))
    .digest('hex');
}

/** `warn MSG`: a line on stderr that the run's log keeps, for problems that must not stop the step. */
export const WARN = raw('warn() { echo "kubeon: warning: $*" >&2; }');
