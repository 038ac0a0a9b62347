// Bundles the CLI into one CommonJS file (dist/kubeon.js) that needs only Node, and that the SEA embeds.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleUpdater } from './bundle-updater.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// Optional native add-ons and peers: each is required inside try/catch by its user, so a stub that
// throws makes the library fall back to its pure-JS path (ssh2 uses node:crypto instead).
const OPTIONAL = /^(cpu-features|bufferutil|utf-8-validate|encoding|supports-color)$|\.node$/;
const stubOptional = {
  name: 'stub-optional',
  setup(b) {
    b.onResolve({ filter: OPTIONAL }, (a) => ({ path: a.path, namespace: 'stub-optional' }));
    b.onLoad({ filter: /.*/, namespace: 'stub-optional' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is not bundled`)});`,
      loader: 'js',
    }));
  },
};

mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/kubeon.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: {
    __KUBEON_VERSION__: JSON.stringify(pkg.version),
    // The apiserver-updater controller, which kubeon ships in a ConfigMap (src/ha/updater/bundle.ts).
    __KUBEON_UPDATER_JS__: JSON.stringify(await bundleUpdater()),
  },
  loader: { '.yaml': 'text' },
  plugins: [stubOptional],
  logLevel: 'warning',
});

// The repo is ESM ("type": "module"); this marker makes Node load the CommonJS bundle as such.
chmodSync('dist/kubeon.js', 0o755);
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
