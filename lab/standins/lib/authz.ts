/**
 * The authorizer chain the apiserver builds from --authorization-mode (pkg/kubeapiserver/authorizer
 * and the union authorizer): system:masters first (the privileged-groups authorizer), then each
 * mode in order; the first Allow wins, and the reasons of the others are joined into the 403.
 */
import type { Obj } from './api-types.js';
import type { Etcd } from './etcd.js';
import { nodeAuthorize, nodeName } from './node-authz.js';
import type { Attributes, Decision, RbacAuthorizer } from './rbac.js';

export const AUTHORIZATION_MODES = ['AlwaysAllow', 'AlwaysDeny', 'Node', 'RBAC'];

async function podsOn(etcd: Etcd, node: string): Promise<Obj[]> {
  return (await etcd.list('/registry/pods/'))
    .map((kv) => JSON.parse(kv.value) as Obj)
    .filter((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === node);
}

export async function authorize(
  modes: string[],
  a: Attributes,
  etcd: Etcd,
  rbac: RbacAuthorizer,
): Promise<Decision> {
  if (a.user.groups.includes('system:masters')) return { allowed: true, reason: '' };
  const reasons: string[] = [];
  for (const mode of modes) {
    let d: Decision | undefined;
    if (mode === 'AlwaysAllow') d = { allowed: true, reason: '' };
    else if (mode === 'AlwaysDeny') return { allowed: false, reason: 'Everything is forbidden.' };
    else if (mode === 'Node') {
      const node = nodeName(a.user);
      d = node === undefined ? undefined : await nodeAuthorize(a, node, () => podsOn(etcd, node));
    } else if (mode === 'RBAC') d = await rbac.authorize(a);
    if (d?.allowed) return d;
    if (d?.reason) reasons.push(d.reason);
  }
  return { allowed: false, reason: reasons.join('\n') };
}
