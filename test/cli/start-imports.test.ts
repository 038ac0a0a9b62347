import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// What a start loads before any command runs: the modules reachable from an entry by static
// imports. The heavy ones must wait for the commands that use them (issue 14), and nothing says so
// but this test when a new import brings them back.

const ROOT = join(import.meta.dirname, '..', '..');

async function staticClosure(entry: string): Promise<string[]> {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: join(ROOT, 'dist', 'unused'),
    write: false,
    metafile: true,
    loader: { '.yaml': 'text' },
    external: ['cpu-features', '*.node'],
    logLevel: 'silent',
  });
  const inputs = r.metafile.inputs;
  const seen = new Set([entry]);
  for (const file of seen)
    for (const i of inputs[file]?.imports ?? [])
      if ((i.kind === 'import-statement' || i.kind === 'require-call') && !i.external) seen.add(i.path);
  return [...seen];
}

const packageOf = (file: string) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1];

describe('start-up imports', () => {
  it('help, version, list and use start with kubeon and picocolors only (src/main.ts)', async () => {
    const files = await staticClosure('src/main.ts');
    expect(files).toContain('src/cli/fast-path.ts');
    expect(new Set(files.map(packageOf).filter(Boolean))).toEqual(new Set(['picocolors']));
    expect(files.filter((f) => /program|commands\//.test(f))).toEqual([]);
  });

  it('the command tree loads no library that only some commands need (src/cli/run.ts)', async () => {
    const files = await staticClosure('src/cli/run.ts');
    expect(files).toContain('src/cli/commands/create.ts');
    const packages = new Set(files.map(packageOf).filter(Boolean));
    for (const heavy of [
      'zod',
      'yaml',
      'ssh2',
      'undici',
      '@peculiar/x509',
      'tar',
      'listr2',
      'semver',
      'p-limit',
    ])
      expect(packages, heavy).not.toContain(heavy);
  });
});
