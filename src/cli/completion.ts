import type { Command } from 'commander';

/**
 * Shell completion generated from the command tree itself, so it can never drift from --help.
 * Completes subcommands and flags, and cluster names read straight from the store directory:
 * asking `kubeon list` instead would cost a Node start on every keystroke.
 */
interface Node {
  path: string[];
  subcommands: string[];
  flags: string[];
}

function walk(cmd: Command, path: string[], out: Node[]): void {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));
  out.push({
    path,
    subcommands: subs.flatMap((c) => [c.name(), ...c.aliases()]),
    flags: [...flags, '--help'],
  });
  for (const c of subs) {
    for (const n of [c.name(), ...c.aliases()]) walk(c, [...path, n], out);
  }
}

function caseLabel(path: string[]): string {
  return path.length ? path.join('_') : 'root';
}

export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const rootFlags = nodes[0]!.flags.join(' ');
  const cases = nodes
    .map(
      (n) =>
        `    ${caseLabel(n.path)}) words_for="${[...n.subcommands, ...n.flags, ...(n.path.length ? rootFlags.split(' ') : [])].join(' ')}" ;;`,
    )
    .join('\n');
  const fn = `_kubeon_complete_words() {
  local key="root" w
  for w in "\${@}"; do
    case "$w" in -*) continue ;; esac
    case "$key" in root) cand="$w" ;; *) cand="\${key}_$w" ;; esac
    if _kubeon_known "$cand"; then key="$cand"; fi
  done
  local words_for=""
  case "$key" in
${cases}
  esac
  local home="\${KUBEON_HOME:-$HOME/.kubeon}"
  if [ -d "$home/clusters" ]; then words_for="$words_for $(ls "$home/clusters" 2>/dev/null | tr '\\n' ' ')"; fi
  echo "$words_for"
}
_kubeon_known() {
  case "$1" in
${nodes.map((n) => `    ${caseLabel(n.path)}) return 0 ;;`).join('\n')}
  esac
  return 1
}`;
  if (shell === 'bash') {
    return `# kubeon bash completion: source <(kubeon completion bash)
${fn}
_kubeon() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local words
  words=$(_kubeon_complete_words "\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _kubeon kubeon
`;
  }
  return `#compdef kubeon
# kubeon zsh completion: source <(kubeon completion zsh)
${fn}
_kubeon() {
  local -a words_list
  words_list=(\${=$(_kubeon_complete_words "\${(@)words[2,CURRENT-1]}")})
  compadd -- $words_list
}
if [ "$funcstack[1]" = "_kubeon" ]; then _kubeon "$@"; else compdef _kubeon kubeon; fi
`;
}
