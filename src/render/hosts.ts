import { raw, type Script, type ShellFragment, script, sh } from '../fleet/script.js';

/**
 * /etc/hosts entries as one marked block per cluster. The script finds the block by its exact
 * BEGIN/END lines (awk string equality, never a pattern built from names), so other clusters'
 * blocks and the user's own lines are left byte for byte.
 */

export interface HostsEntry {
  ip: string;
  names: string[];
}

export const HOSTS_FILE = '/etc/hosts';

const TOKEN = /^[A-Za-z0-9.:_-]+$/;

function marks(cluster: string): { begin: string; end: string } {
  if (!TOKEN.test(cluster)) throw new Error(`cluster name "${cluster}" cannot mark an /etc/hosts block`);
  return { begin: `# BEGIN kubeon ${cluster}`, end: `# END kubeon ${cluster}` };
}

/** The block as it appears in /etc/hosts, BEGIN and END lines included. */
export function hostsBlock(cluster: string, entries: readonly HostsEntry[]): string {
  const { begin, end } = marks(cluster);
  const lines = entries.map((e) => {
    for (const v of [e.ip, ...e.names]) {
      if (!TOKEN.test(v)) throw new Error(`"${v}" cannot go into /etc/hosts`);
    }
    return `${e.ip} ${e.names.join(' ')}`;
  });
  return `${[begin, ...lines, end].join('\n')}\n`;
}

/**
 * Rewrites /etc/hosts with the block replaced (or appended, or removed when `block` is empty) via a
 * temporary file in /etc and a rename. Where /etc/hosts is a bind mount (some containers) the rename
 * is refused and the content is copied in place instead.
 */
function rewriteHosts(begin: string, end: string, block: string, file: string): ShellFragment[] {
  return [
    sh`f=${file}`,
    raw('tmp=$(mktemp "$(dirname -- "$f")/.hosts.kubeon-XXXXXX")'),
    sh`B=${begin} E=${end} BLOCK=${block} awk '`,
    raw(
      '  $0 == ENVIRON["B"] { skip = 1; if (!done && ENVIRON["BLOCK"] != "") printf "%s", ENVIRON["BLOCK"]; done = 1; next }',
    ),
    raw('  skip && $0 == ENVIRON["E"] { skip = 0; next }'),
    raw('  skip { next }'),
    raw('  { print }'),
    raw('  END { if (!done && ENVIRON["BLOCK"] != "") printf "%s", ENVIRON["BLOCK"] }'),
    raw('\' "$f" > "$tmp"'),
    raw('if cmp -s -- "$tmp" "$f"; then'),
    raw('  echo "hosts: already up to date"'),
    raw('else'),
    raw('  chmod --reference="$f" -- "$tmp"'),
    raw('  chown --reference="$f" -- "$tmp"'),
    raw('  mv -f -- "$tmp" "$f" 2>/dev/null || cat -- "$tmp" > "$f"'),
    raw('fi'),
    raw('rm -f -- "$tmp"'),
  ];
}

export function hostsBlockScript(
  cluster: string,
  entries: readonly HostsEntry[],
  file: string = HOSTS_FILE,
): Script {
  return script(`set the /etc/hosts block of ${cluster}`, ...hostsBlockLines(cluster, entries, file));
}

/** The rewrite as lines for a larger script. */
export function hostsBlockLines(
  cluster: string,
  entries: readonly HostsEntry[],
  file: string = HOSTS_FILE,
): ShellFragment[] {
  const { begin, end } = marks(cluster);
  return rewriteHosts(begin, end, hostsBlock(cluster, entries), file);
}

export function hostsRemoveScript(cluster: string, file: string = HOSTS_FILE): Script {
  return script(`remove the /etc/hosts block of ${cluster}`, ...hostsRemoveLines(cluster, file));
}

/** The removal as lines for a larger script (destroy). */
export function hostsRemoveLines(cluster: string, file: string = HOSTS_FILE): ShellFragment[] {
  const { begin, end } = marks(cluster);
  return rewriteHosts(begin, end, '', file);
}
