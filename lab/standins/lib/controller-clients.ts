/**
 * --use-service-account-credentials (SAControllerClientBuilder in k8s.io/controller-manager/pkg/
 * clientbuilder): each controller runs as the ServiceAccount kube-system/<controller>, created if
 * missing, with a token from the TokenRequest API renewed at 80% of its life, so RBAC judges it by
 * its own system:controller:* role. Without the flag every controller uses the manager's own
 * credentials, as the real one does.
 */
import { ApiClient, ApiError } from './client.js';

const NS = 'kube-system';
const TOKEN_SECONDS = 3600;

export class ControllerClients {
  private readonly cache = new Map<string, { client: ApiClient; renewAt: number }>();

  constructor(
    private readonly root: ApiClient,
    private readonly perController: boolean,
  ) {}

  async for(controller: string): Promise<ApiClient> {
    if (!this.perController) return this.root;
    const hit = this.cache.get(controller);
    if (hit && Date.now() < hit.renewAt) return hit.client;
    const base = `/api/v1/namespaces/${NS}/serviceaccounts`;
    if (!(await this.root.find(`${base}/${controller}`))) {
      try {
        await this.root.call('POST', base, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: controller, namespace: NS },
        });
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 409) throw e;
      }
    }
    const tr = await this.root.call<{ status: { token: string } }>('POST', `${base}/${controller}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: TOKEN_SECONDS },
    });
    const { certPem: _c, keyPem: _k, ...rest } = this.root.creds;
    const client = new ApiClient({ ...rest, token: tr.status.token });
    this.cache.set(controller, { client, renewAt: Date.now() + TOKEN_SECONDS * 800 });
    return client;
  }
}
