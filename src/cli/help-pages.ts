/** Replaced at bundle time by esbuild's define: the JSON that scripts/build.mjs renders with help-render.ts. */
declare const __KUBEON_HELP__: string | undefined;

/**
 * What `--help` prints for each command path; undefined when run from source, where help takes the
 * full path. Kept as text in the start file, parsed only when help is asked for: loading it as a
 * module of its own would cost help the start of Node's ES module loader.
 */
export function helpPages(): Record<string, string> | undefined {
  return typeof __KUBEON_HELP__ === 'string' ? JSON.parse(__KUBEON_HELP__) : undefined;
}
