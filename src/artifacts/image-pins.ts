import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { KubeonError } from '../core/errors.js';

/** The flag that lets a changed image digest replace the recorded one. */
export const ACCEPT_NEW_DIGESTS_FLAG = '--accept-new-image-digests';

/** A tag that resolves to another digest than the one recorded: a refusal, never a reason to try elsewhere. */
export class ImageDigestChanged extends KubeonError {}

/**
 * Image digests seen before, like SSH's known_hosts: the first use of a reference records the digest
 * its tag resolved to; a later, different digest for the same reference is refused unless the user
 * accepts it. One line per reference: `REFERENCE DIGEST`.
 */
export class ImagePins {
  readonly #path: string;
  readonly #acceptNew: boolean;
  #pins: Promise<Map<string, string>> | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(path: string, opts: { acceptNew?: boolean } = {}) {
    this.#path = path;
    this.#acceptNew = Boolean(opts.acceptNew);
  }

  /** Throws when `digest` differs from the one recorded for `reference` (and new ones are not accepted). */
  async check(reference: string, digest: string): Promise<void> {
    const known = (await this.#load()).get(reference);
    if (known === undefined || known === digest || this.#acceptNew) return;
    throw new ImageDigestChanged(
      `image ${reference} now resolves to ${digest}, not ${known} as recorded in ${this.#path}`,
      { hint: `if it was republished on purpose, accept it with ${ACCEPT_NEW_DIGESTS_FLAG}` },
    );
  }

  /** Records `digest` for `reference` once its content was fetched and verified. */
  async record(reference: string, digest: string): Promise<void> {
    const pins = await this.#load();
    if (pins.get(reference) === digest) return;
    pins.set(reference, digest);
    // Parallel pulls record at once; each write carries every pin so far, in order.
    this.#writes = this.#writes.then(() =>
      writeFileAtomic(this.#path, [...pins].map(([r, d]) => `${r} ${d}\n`).join(''), 0o600),
    );
    await this.#writes;
  }

  #load(): Promise<Map<string, string>> {
    this.#pins ??= readFile(this.#path, 'utf8').then(
      (text) => parsePins(text, this.#path),
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return new Map<string, string>();
        throw err;
      },
    );
    return this.#pins;
  }
}

function parsePins(text: string, path: string): Map<string, string> {
  const pins = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const [ref, digest, extra] = line.trim().split(/\s+/);
    if (!ref || !digest || extra !== undefined || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new KubeonError(`${path} line ${i + 1} is not "REFERENCE sha256:DIGEST"`, {
        hint: 'fix or delete that line (its image is then recorded again on next use)',
      });
    }
    pins.set(ref, digest);
  }
  return pins;
}
