/** Replaced at bundle time by esbuild's define: the JSON that scripts/build.mjs renders with help-render.ts. */
declare const __KUBEON_HELP__: string | undefined;

/** What `--help` prints for each command path; absent when run from source, where help takes the full path. */
export const HELP_PAGES: Record<string, string> | undefined =
  typeof __KUBEON_HELP__ === 'string' ? JSON.parse(__KUBEON_HELP__) : undefined;
