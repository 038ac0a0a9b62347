// Bundles the CLI for Node. Default: dist/kubeon.js, the small file every start runs, and under
// dist/lib the ES modules that it loads when a command needs them, whose heavy parts (ssh2, undici,
// x509, tar...) sit in chunks that only the commands needing them load. `--sea`: dist/sea-main.cjs,
// the one CommonJS file that the single executable embeds (scripts/build-sea.sh), where V8's code
// cache covers compilation.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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

// Turns each dynamic import() of the start file into one of dist/lib/NAME.mjs, recording NAME by
// module path for the ES module build.
function lazyImports(names) {
  return {
    name: 'lazy-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (a) => {
        if (a.kind !== 'dynamic-import' || a.pluginData === 'lazy') return undefined;
        const r = await b.resolve(a.path, {
          kind: a.kind,
          importer: a.importer,
          resolveDir: a.resolveDir,
          pluginData: 'lazy',
        });
        const rel = relative(process.cwd(), r.path);
        const name =
          /node_modules\/((@[^/]+\/)?[^/]+)/.exec(rel)?.[1].replace('/', '-') ??
          rel
            .replace(/^src\//, '')
            .replace(/\.ts$/, '')
            .replaceAll('/', '-');
        names.set(r.path, name);
        return { path: `./lib/${name}.mjs`, external: true };
      });
    },
  };
}

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
  rmSync('dist/lib', { recursive: true, force: true });
  // dist/kubeon.js: one CommonJS file with what every start runs (src/main.ts and the fast path),
  // because Node starts a lone CommonJS file sooner than ES modules spread over chunks (issue 14).
  // Each module it imports lazily becomes an entry of the ES module build under dist/lib.
  const lazy = new Map();
  await build({
    ...common,
    format: 'cjs',
    outfile: 'dist/kubeon.js',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [stubOptional, lazyImports(lazy)],
  });
  await build({
    ...common,
    entryPoints: Object.fromEntries([...lazy].map(([path, name]) => [name, path])),
    format: 'esm',
    splitting: true,
    outdir: 'dist/lib',
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // The bundled CommonJS libraries use require() for Node's built-ins and __dirname, which an ES
    // module lacks.
    banner: {
      js: [
        "import{createRequire as __kubeonRequire}from'node:module';",
        "import{fileURLToPath as __kubeonPath}from'node:url';",
        'const require=__kubeonRequire(import.meta.url),__filename=__kubeonPath(import.meta.url),__dirname=__filename.replace(/[/][^/]*$/,"");',
      ].join('\n'),
    },
  });
  chmodSync('dist/kubeon.js', 0o755);
  // The repo is ESM; dist/ holds a CommonJS start file (and .mjs modules) wherever it is copied.
  writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
}
