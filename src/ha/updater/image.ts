import { formatImageRef, imageCandidates, parseImageRef } from '../../artifacts/mirrors.js';
import { NODE_RUNTIME_IMAGE } from '../../artifacts/plan.js';

/** The reference the Deployment uses: the first candidate of the cluster's mirrors, as for every image. */
export function updaterImage(imageRepos: readonly string[], mirrors: readonly string[]): string {
  return formatImageRef(imageCandidates(parseImageRef(NODE_RUNTIME_IMAGE), imageRepos, mirrors)[0]!);
}
