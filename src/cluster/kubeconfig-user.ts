import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { mergeKubeconfig, removeKubeconfigContext } from './kubeconfig-merge.js';

/** kubectl writes to the first file of $KUBECONFIG, else ~/.kube/config; so does kubeon. */
export function userKubeconfigPath(env: NodeJS.ProcessEnv): string {
  const first = env.KUBECONFIG?.split(delimiter).find(Boolean);
  return first ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

/** Makes `cluster` the default: `current` in the store and its context current for kubectl. */
export async function useCluster(
  store: { setCurrent(name: string): Promise<void> },
  cluster: string,
  kubeconfigPath: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  await store.setCurrent(cluster);
  const target = userKubeconfigPath(env);
  const existing = existsSync(target) ? await readFile(target, 'utf8') : undefined;
  const merged = mergeKubeconfig(existing, await readFile(kubeconfigPath, 'utf8'), cluster, target);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await writeFileAtomic(target, merged, 0o600);
  return target;
}

/** Removes kubeon's context, cluster and user of `cluster` from the user's kubeconfig. */
export async function forgetContext(cluster: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const target = userKubeconfigPath(env);
  if (!existsSync(target)) return false;
  const text = await readFile(target, 'utf8');
  const out = removeKubeconfigContext(text, cluster, target);
  if (out === text) return false;
  await writeFileAtomic(target, out, 0o600);
  return true;
}
