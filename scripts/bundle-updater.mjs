// Bundles the apiserver-updater controller (src/ha/updater/controller) into one small CommonJS file
// that the official Node image runs from a ConfigMap. Used by build.mjs and by tests run from source.
import { build } from 'esbuild';

export async function bundleUpdater() {
  const out = await build({
    entryPoints: [new URL('../src/ha/updater/controller/main.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return out.outputFiles[0].text;
}
