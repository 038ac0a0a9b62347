import { formatImageRef, imageCandidates, parseImageRef } from '../../artifacts/mirrors.js';

/**
 * The official Node runtime image that runs the bundled controller (no custom image to publish).
 * 24 is the active LTS line; the controller is built for node20 and up, so any maintained line works.
 */
export const NODE_RUNTIME_IMAGE = 'docker.io/library/node:24.11.1-alpine';

/** The reference the Deployment uses: the first candidate of the cluster's mirrors, as for every image. */
export function updaterImage(imageRepos: readonly string[], mirrors: readonly string[]): string {
  return formatImageRef(imageCandidates(parseImageRef(NODE_RUNTIME_IMAGE), imageRepos, mirrors)[0]!);
}
