import { type ShellFragment, sh } from './script.js';

/** Prefix of every connection's private temporary directory under /tmp. */
export const TEMP_PREFIX = '/tmp/.kubeon-';

/**
 * The command that opens a connection's private temporary directory, with the sweep of what killed
 * runs left behind folded in, so it costs no extra round trip.
 *
 * Each directory records its owner: the PID of the sshd session process that made it (`$PPID` of
 * this command), alive exactly as long as that connection. A directory whose owner is gone belongs
 * to a run that ended without closing (kill -9, lost network): the process groups of its scripts are
 * sent TERM (each script's `.pid` file names the leader, checked against its command line, so a
 * reused PID is never signalled) and the directory is removed. A directory without an owner file
 * is only trusted to be dead after an hour. `extra` (e.g. the fan-out clean-up) runs only when no
 * other kubeon connection is live on the node, since it could belong to that run.
 */
export function renderOpenTempDir(dir: string, extra?: ShellFragment): string {
  const lines = [
    sh`umask 077`,
    sh`live=`,
    sh`for d in ${TEMP_PREFIX}*; do`,
    sh`  [ -d "$d" ] && [ ! -L "$d" ] && [ -O "$d" ] || continue`,
    sh`  o=$(cat "$d/owner" 2>/dev/null) || o=`,
    sh`  if [ -n "$o" ]; then`,
    sh`    if [ -d "/proc/$o" ]; then live=1; continue; fi`,
    sh`  elif [ -z "$(find "$d" -maxdepth 0 -mmin +60)" ]; then live=1; continue; fi`,
    sh`  for f in "$d"/*.pid; do`,
    sh`    p=$(cat "$f" 2>/dev/null) || continue`,
    sh`    case $p in ''|*[!0-9]*) continue ;; esac`,
    sh`    if tr '\\0' '\\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$d/"; then kill -TERM "$p" 2>/dev/null || true; fi`,
    sh`  done`,
    sh`  rm -rf -- "$d" 2>/dev/null || true`,
    sh`done`,
    ...(extra ? [sh`[ -n "$live" ] || ( ${extra} ) >/dev/null 2>&1 || true`] : []),
    sh`mkdir -m 700 -- ${dir} && printf '%s\\n' "$PPID" > ${dir}/owner`,
  ];
  return lines.map((l) => l.text).join('\n');
}
