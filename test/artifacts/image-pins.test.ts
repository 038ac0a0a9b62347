import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageDigestChanged, ImagePins } from '../../src/artifacts/image-pins.js';
import { formatError } from '../../src/core/errors.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const file = async () => join(await mkdtemp(join(tmpdir(), 'kubeon-pins-')), 'image-digests');

describe('ImagePins', () => {
  it('records at first use, owner-only, and refuses another digest for the same reference later', async () => {
    const path = await file();
    const pins = new ImagePins(path);
    await pins.check('registry.k8s.io/pause:3.10', A);
    await Promise.all([pins.record('registry.k8s.io/pause:3.10', A), pins.record('quay.io/x/y:1', B)]);
    expect(await readFile(path, 'utf8')).toBe(`registry.k8s.io/pause:3.10 ${A}\nquay.io/x/y:1 ${B}\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const later = new ImagePins(path);
    await later.check('registry.k8s.io/pause:3.10', A);
    const refused = await later.check('registry.k8s.io/pause:3.10', B).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImageDigestChanged);
    expect(formatError(refused)).toBe(
      `error: image registry.k8s.io/pause:3.10 now resolves to ${B}, not ${A} as recorded in ${path} (fix: if it was republished on purpose, accept it with --accept-new-image-digests)`,
    );
    await new ImagePins(path, { acceptNew: true }).check('registry.k8s.io/pause:3.10', B);
  });

  it('names the file and line of a garbled record', async () => {
    const path = await file();
    await writeFile(path, `registry.k8s.io/pause:3.10 ${A}\nquay.io/x/y:1 md5:00\n`);
    await expect(new ImagePins(path).check('quay.io/x/y:1', B)).rejects.toThrow(
      `${path} line 2 is not "REFERENCE sha256:DIGEST"`,
    );
  });
});
