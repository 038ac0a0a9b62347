/** Replaced at bundle time by esbuild's define; the fallback serves tsx runs from source. */
declare const __KUBEON_VERSION__: string | undefined;

export const KUBEON_VERSION: string =
  typeof __KUBEON_VERSION__ === 'string' ? __KUBEON_VERSION__ : '0.1.0-dev';
