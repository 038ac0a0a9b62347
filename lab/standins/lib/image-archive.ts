/**
 * OCI image-layout archives for the lab, as `ctr images import` reads them: one small manifest
 * per reference, named by the `io.containerd.image.name` annotation. Nothing in them runs; they
 * let tests put images on a host the way an installer does.
 */
import { createHash } from 'node:crypto';
import { tarArchive } from './tar.js';

export function ociArchive(refs: string[]): Buffer {
  const files: [string, Buffer][] = [['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];
  const manifests = refs.map((ref) => {
    const blob = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        annotations: { 'org.opencontainers.image.title': ref },
      }),
    );
    const hex = createHash('sha256').update(blob).digest('hex');
    files.push([`blobs/sha256/${hex}`, blob]);
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${hex}`,
      size: blob.length,
      annotations: { 'io.containerd.image.name': ref },
    };
  });
  files.push(['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests }))]);
  return tarArchive(files);
}
