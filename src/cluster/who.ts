import { hostname, userInfo } from 'node:os';

/** Names this machine's client certificate; a uid without a passwd entry falls back to $USER. */
export function whoAmI(env: NodeJS.ProcessEnv): { user: string; host: string } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  return { user, host: hostname() };
}
