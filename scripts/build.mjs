// Bundles the CLI for Node. Default: dist/kubeon.js, an ES module whose heavy parts (ssh2, undici,
// x509, tar...) sit in chunks under dist/chunks that only the commands needing them load, so
// `kubeon --help` or `list` parse a small file. `--sea`: dist/sea-main.cjs, the one CommonJS file
// that the single executable embeds (scripts/build-sea.sh), where V8's code cache covers compilation.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleUpdater } from './bundle-updater.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const sea = process.argv.includes('--sea');

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

const common = {
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  define: {
    __KUBEON_VERSION__: JSON.stringify(pkg.version),
    // The apiserver-updater controller, which kubeon ships in a ConfigMap (src/ha/updater/bundle.ts).
    __KUBEON_UPDATER_JS__: JSON.stringify(await bundleUpdater()),
  },
  loader: { '.yaml': 'text' },
  plugins: [stubOptional],
  logLevel: 'warning',
};

// Every command's --help text, rendered by commander itself from the real command tree
// (src/cli/help-render.ts), so the fast path (src/cli/fast-path.ts) prints it without loading commander.
async function renderHelp() {
  const dir = mkdtempSync(join(tmpdir(), 'kubeon-help-'));
  try {
    const script = join(dir, 'render-help.cjs');
    await build({
      ...common,
      entryPoints: undefined,
      stdin: {
        contents:
          "import { renderHelpPages } from './src/cli/help-render.ts';\n" +
          'process.stdout.write(JSON.stringify(renderHelpPages()));\n',
        resolveDir: '.',
        loader: 'ts',
      },
      format: 'cjs',
      outfile: script,
    });
    return execFileSync(process.execPath, [script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// A JSON text in a string: esbuild would move an object-valued define into the chunk every start loads.
common.define.__KUBEON_HELP__ = JSON.stringify(await renderHelp());

mkdirSync('dist', { recursive: true });
if (sea) {
  await build({ ...common, format: 'cjs', outfile: 'dist/sea-main.cjs' });
} else {
  rmSync('dist/chunks', { recursive: true, force: true });
  await build({
    ...common,
    format: 'esm',
    splitting: true,
    outdir: 'dist',
    entryNames: 'kubeon',
    chunkNames: 'chunks/[name]-[hash]',
    // The bundled CommonJS libraries use require() for Node's built-ins and __dirname, which an ES
    // module lacks.
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import{createRequire as __kubeonRequire}from'node:module';",
        "import{fileURLToPath as __kubeonPath}from'node:url';",
        'const require=__kubeonRequire(import.meta.url),__filename=__kubeonPath(import.meta.url),__dirname=__filename.replace(/[/][^/]*$/,"");',
      ].join('\n'),
    },
  });
  chmodSync('dist/kubeon.js', 0o755);
  // The repo is ESM already; this marker keeps dist/ an ES module package wherever it is copied.
  writeFileSync('dist/package.json', '{ "type": "module" }\n');
}
