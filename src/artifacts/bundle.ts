import type { ArtifactSet } from './ensure.js';
import type { ImageArchive } from './import-script.js';
import type { Arch, NodeRole } from './plan.js';

/** One file of a node's bundle: where it is in the cache and what it is called on the node. */
export interface BundleFile {
  /** Name on the node, inside `/opt/kubeon/<version>/`. */
  name: string;
  /** Local path (a cache blob). */
  path: string;
  sha256: string;
  bytes: number;
  mode: number;
}

export interface NodeArtifacts {
  files: BundleFile[];
  /** Image archives among `files`, as the import script names them on the node. */
  images: ImageArchive[];
}

const EXECUTABLE = new Set(['kubeadm', 'kubelet', 'kubectl', 'runc']);

/** A file name safe on any node and in the fan-out's receive command. */
export function imageArchiveName(image: string): string {
  return `image-${image.replace(/[^A-Za-z0-9_.+-]/g, '_')}.tar`;
}

/**
 * What one node needs, by role and architecture: the files of its arch (kubectl only on masters)
 * and, in offline mode, every image archive of its arch.
 */
export function nodeBundle(set: ArtifactSet, role: NodeRole, arch: Arch, dir?: string): NodeArtifacts {
  const base = dir ?? `/opt/kubeon/${set.version.version}`;
  const files: BundleFile[] = set.files
    .filter((f) => f.artifact.arch === arch && f.artifact.roles.includes(role))
    .map((f) => ({
      name: f.name,
      path: f.path,
      sha256: f.sha256,
      bytes: f.bytes,
      mode: EXECUTABLE.has(f.artifact.component) ? 0o755 : 0o644,
    }));
  const images: ImageArchive[] = [];
  for (const img of set.images.filter((i) => i.arch === arch)) {
    const name = imageArchiveName(img.image);
    files.push({ name, path: img.path, sha256: img.sha256, bytes: img.bytes, mode: 0o644 });
    images.push({ file: `${base}/${name}`, image: img.image });
  }
  return { files, images };
}
