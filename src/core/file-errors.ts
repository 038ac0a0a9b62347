/** A failed read of a local file in the user's words: "no such file: PATH", never a bare ENOENT. */
export function fileProblem(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `no such file: ${path}`;
  if (code === 'EACCES' || code === 'EPERM') return `no permission to read ${path}`;
  if (code === 'EISDIR') return `${path} is a directory`;
  if (code === 'ENOTDIR') return `${path}: a part of the path is not a directory`;
  return `cannot read ${path}: ${(err as Error).message}`;
}
