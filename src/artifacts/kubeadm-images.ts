import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeonError } from '../core/errors.js';
import { sha256File } from './checksum.js';

const run = promisify(execFile);

/**
 * pause, etcd and coredns versions come from kubeadm itself, so a patch released after this kubeon
 * works with exactly the images its kubeadm expects.
 */

export interface KubeadmImages {
  all: string[];
  pause: string;
  etcd: string;
  coredns: string;
}

/** Parses `kubeadm config images list` output: one `registry/repository:tag` per line. */
export function parseImageList(stdout: string): KubeadmImages {
  const all = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9.-]+(:\d+)?\/[^\s:]+:[^\s]+$/i.test(l));
  const tagOf = (name: string) => {
    const hit = all.find((i) => i.slice(0, i.lastIndexOf(':')).split('/').pop() === name);
    return hit ? hit.slice(hit.lastIndexOf(':') + 1) : undefined;
  };
  const pause = tagOf('pause');
  const etcd = tagOf('etcd');
  const coredns = tagOf('coredns');
  if (!pause || !etcd || !coredns) {
    throw new KubeonError(`kubeadm's image list lacks ${!pause ? 'pause' : !etcd ? 'etcd' : 'coredns'}`, {
      hint: 'the kubeadm binary may be damaged; run kubeon download --prune and download again',
    });
  }
  return { all, pause, etcd, coredns };
}

/**
 * Runs a cached kubeadm (the blob is not executable, so a private copy is) and lists the images of
 * `version` under the default registry; mirrors are applied afterwards, image by image.
 */
export async function kubeadmImageList(
  kubeadmPath: string,
  version: string,
  sha256: string,
): Promise<KubeadmImages> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeon-kubeadm-'));
  try {
    const bin = join(dir, 'kubeadm');
    await copyFile(kubeadmPath, bin);
    // The private copy is what runs, so it is what is checked: nothing swapped in after verification runs.
    const got = await sha256File(bin);
    if (got !== sha256)
      throw new KubeonError(
        `kubeadm ${version} in the cache does not match its verified digest; not running it`,
        {
          hint: 'run kubeon download --prune and download again',
        },
      );
    await chmod(bin, 0o700);
    const { stdout } = await run(bin, ['config', 'images', 'list', '--kubernetes-version', version], {
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    return parseImageList(stdout);
  } catch (err) {
    if (err instanceof KubeonError) throw err;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new KubeonError(`kubeadm ${version} could not list its images: ${msg}`, {
      hint: 'kubeadm runs on the control machine for this; it must be Linux on amd64 or arm64',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
