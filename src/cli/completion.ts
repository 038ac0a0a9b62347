import type { Argument, Command, Option } from 'commander';
import { minorsOf } from '../artifacts/catalog.js';
import { clusterJsonSchema } from '../cluster/spec.js';
import type { Shell } from './shells.js';

/**
 * Shell completion generated from the command tree itself, so it can never drift from --help.
 * One POSIX sh engine (run with `sh -c`, so bash, zsh and fish share every rule) completes
 * subcommands, flags, flag values (choices, files, versions from the catalog), cluster names read
 * straight from the store directory, and selectors after `NAME@` (node names, addresses, cpN, wN)
 * read from the stored cluster.yaml: asking `kubeon` itself would cost a Node start per keystroke.
 * The engine prints one candidate a line; `__FILES__` asks the shell for file names.
 */

interface Node {
  key: string;
  cmd: Command;
  subcommands: string[];
  flags: string[];
}

function keyOf(path: string[]): string {
  return path.length ? path.join('_') : 'root';
}

function walk(cmd: Command, path: string[], out: Node[]): void {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  const visible = cmd.options.filter((o) => !o.hidden);
  out.push({
    key: keyOf(path),
    cmd,
    subcommands: subs.flatMap((c) => [c.name(), ...c.aliases()]),
    flags: [...visible.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))), '--help'],
  });
  for (const c of subs) for (const n of [c.name(), ...c.aliases()]) walk(c, [...path, n], out);
}

const FILE_ARG = /file|path|yaml|src|dir/i;

function versions(): string[] {
  return minorsOf().map((m) => `v${m.minor}.`);
}

/** Every dotted field path of cluster.yaml, for `kubeon explain`. */
function fieldPaths(): string[] {
  const out: string[] = [];
  type N = { properties?: Record<string, N>; items?: N };
  const visit = (n: N, prefix: string) => {
    const props = n.properties ?? n.items?.properties;
    for (const [k, v] of Object.entries(props ?? {})) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.push(p);
      visit(v, p);
    }
  };
  visit(clusterJsonSchema() as N, '');
  return out;
}

/** What a value of this option completes to: its choices, files, or nothing the shell can know. */
function optionValues(o: Option): string[] {
  if (o.argChoices) return o.argChoices;
  return FILE_ARG.test(o.flags) ? ['__FILES__'] : [];
}

/** What a positional argument completes to, by its name. */
function argumentValues(a: Argument): string[] {
  if (a.argChoices) return a.argChoices;
  const name = a.name();
  if (name === 'target') return ['__TARGETS__'];
  if (name === 'name') return ['__CLUSTERS__'];
  if (name === 'version') return versions();
  if (name === 'field') return fieldPaths();
  if (FILE_ARG.test(name)) return ['__FILES__'];
  return [];
}

function lines(words: string[]): string {
  return words.map((w) => `printf '%s\\n' '${w.replace(/'/g, `'\\''`)}'`).join('; ');
}

function engine(program: Command): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const rootFlags = nodes[0]!.flags;
  const valueCases: string[] = [];
  const rootValues = program.options.filter((o) => o.required || o.optional);
  for (const n of nodes) {
    for (const o of n.cmd.options.filter((x) => x.required || x.optional)) {
      const pattern = [o.long, o.short]
        .filter(Boolean)
        .map((f) => `${n.key}:${f}`)
        .join('|');
      valueCases.push(`    ${pattern}) ${lines(optionValues(o)) || ':'} ;;`);
    }
  }
  for (const o of rootValues) {
    const pattern = [o.long, o.short]
      .filter(Boolean)
      .map((f) => `*:${f}`)
      .join('|');
    valueCases.push(`    ${pattern}) ${lines(optionValues(o)) || ':'} ;;`);
  }
  const positionalCases = nodes.flatMap((n) =>
    n.cmd.registeredArguments.map((a, i) => `    ${n.key}:${i}) ${lines(argumentValues(a)) || ':'} ;;`),
  );
  const wordCases = nodes.map(
    (n) =>
      `    ${n.key}) ${lines([...n.subcommands, ...n.flags, ...(n.key === 'root' ? [] : rootFlags)])} ;;`,
  );
  const known = nodes.map((n) => n.key).join('|');
  return `home="\${KUBEON_HOME:-$HOME/.kubeon}"
clusters() { for d in "$home"/clusters/*/cluster.yaml; do [ -f "$d" ] && basename "$(dirname "$d")"; done; }
selectors() {
  cl="\${1%%@*}"; at="$cl@"
  [ -n "$cl" ] || cl=$(cat "$home/current" 2>/dev/null)
  f="$home/clusters/$cl/cluster.yaml"
  for s in all masters workers first; do printf '%s\\n' "$at$s"; done
  [ -f "$f" ] || return 0
  awk -v at="$at" '
    /^[^ #]/ { section = $1 }
    section != "masters:" && section != "workers:" { next }
    /^  - / { if (section == "masters:") print at "cp" (++m); else print at "w" (++w) }
    /^(  - |    )(ip|name): / { v = $0; sub(/^ *(- )?(ip|name): */, "", v); gsub(/["\\047]/, "", v); print at v }
  ' "$f"
}
takes_value() {
  case "$1:$2" in
${valueCases.map((c) => c.replace(/\) .*;;$/, ') return 0 ;;')).join('\n')}
  esac
  return 1
}
values() {
  case "$1:$2" in
${valueCases.join('\n')}
  esac
}
positional() {
  case "$1:$2" in
${positionalCases.join('\n')}
  esac
}
words() {
  case "$1" in
${wordCases.join('\n')}
  esac
}
key=root; pos=0; want=''; dashdash=''
n=$#
eval "cur=\\\${$n}"
i=1
while [ "$i" -lt "$n" ]; do
  eval "w=\\\${$i}"; i=$((i + 1))
  if [ -n "$want" ]; then want=''; continue; fi
  [ -n "$dashdash" ] && continue
  case "$w" in
    --) dashdash=1; continue ;;
    -*=*) continue ;;
    -*) if takes_value "$key" "$w"; then want="$w"; fi; continue ;;
  esac
  if [ "$key" = root ]; then c="$w"; else c="\${key}_$w"; fi
  case "$c" in
    ${known}) key="$c"; pos=0 ;;
    *) pos=$((pos + 1)) ;;
  esac
done
[ -n "$dashdash" ] && exit 0
if [ -n "$want" ]; then values "$key" "$want"; exit 0; fi
case "$cur" in
  -*) words "$key" | grep '^-'; exit 0 ;;
esac
out=$(positional "$key" "$pos")
case "$out" in
  __TARGETS__)
    case "$cur" in
      *@*) selectors "$cur" ;;
      *) clusters | sed 's/$/@/'; selectors "@" ;;
    esac ;;
  __CLUSTERS__) clusters ;;
  '') [ "$pos" -eq 0 ] && words "$key" | grep -v '^-' ;;
  *) printf '%s\\n' "$out" ;;
esac
exit 0`;
}

/** Quotes for a POSIX single-quoted string (bash and zsh). */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Quotes for a fish single-quoted string: only \\ and ' are special. */
function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function completionScript(program: Command, shell: Shell): string {
  const code = engine(program);
  if (shell === 'bash') {
    return `# kubeon bash completion: source <(kubeon completion bash)
_kubeon_engine=${shQuote(code)}
_kubeon() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out
  out=$(sh -c "$_kubeon_engine" kubeon "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur")
  if [ "$out" = __FILES__ ]; then
    COMPREPLY=( $(compgen -f -- "$cur") )
    return
  fi
  COMPREPLY=( $(compgen -W "$out" -- "$cur") )
  # A cluster name with its @, or a version prefix, continues in the same word.
  case "\${COMPREPLY[*]}" in *@|*.) compopt -o nospace 2>/dev/null ;; esac
}
complete -F _kubeon kubeon
`;
  }
  if (shell === 'zsh') {
    return `#compdef kubeon
# kubeon zsh completion: source <(kubeon completion zsh)
_kubeon_engine=${shQuote(code)}
_kubeon() {
  local -a out
  out=("\${(@f)$(sh -c "$_kubeon_engine" kubeon "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}")}")
  if [[ "\${out[1]}" == __FILES__ ]]; then
    _files
    return
  fi
  local -a whole open
  local w
  for w in $out; do
    case "$w" in *@|*.) open+=("$w") ;; *) whole+=("$w") ;; esac
  done
  (( \${#whole} )) && compadd -- $whole
  (( \${#open} )) && compadd -S '' -- $open
  return 0
}
if [ "$funcstack[1]" = "_kubeon" ]; then _kubeon "$@"; else compdef _kubeon kubeon; fi
`;
  }
  return `# kubeon fish completion: kubeon completion fish | source
set -g __kubeon_engine ${fishQuote(code)}
function __kubeon_complete
  set -l words (commandline -opc)
  set -l cur (commandline -ct)
  set -l out (sh -c $__kubeon_engine kubeon $words[2..-1] "$cur")
  if test "$out" = __FILES__
    __fish_complete_path $cur
  else
    printf '%s\\n' $out
  end
end
complete -c kubeon -f -a '(__kubeon_complete)'
`;
}
