/**
 * The flags whose value is a secret, and the masking of them in a command line. Apart from the flag
 * definitions (node-flags.ts, which need commander) so that a context can be made without loading
 * the command tree (see fast-path.ts).
 */

export const NODE_ROLES = ['master', 'worker'] as const;
const SCOPES = ['', 'master-', 'worker-'] as const;

/** Every flag whose value is a secret, so a command line can be shown with the values masked. */
export const SECRET_FLAGS: ReadonlySet<string> = new Set([
  ...NODE_ROLES.flatMap((r) => [`--${r}-passwd`, `--${r}-pk-password`]),
  ...SCOPES.flatMap((s) => [`--default-${s}passwd`, `--default-${s}pk-password`]),
  '--bastion-passwd',
]);

/** Replaces the values of password flags so a command line can be logged or shown in a lock. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && SECRET_FLAGS.has(a.slice(0, eq))) out.push(`${a.slice(0, eq)}=***`);
    else if (SECRET_FLAGS.has(a) && i + 1 < argv.length) {
      out.push(a, '***');
      i++;
    } else out.push(a);
  }
  return out;
}
