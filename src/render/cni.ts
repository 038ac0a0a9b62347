import { type Document, isMap, isScalar, isSeq, parseAllDocuments, visit, type YAMLMap } from 'yaml';
import { nodeImage, type RenderInput } from './inputs.js';

/**
 * The CNI manifest kubeon applies: upstream's manifest for the catalogued version with every image
 * taken from the chosen repository and the pod CIDR set. Parsed and written as YAML 1.1, the way the
 * Kubernetes decoder reads it, so no scalar changes meaning on the way through.
 */

export const CNI_MANIFEST_DIR = '/etc/kubeon/cni';

/** Where kubeon fetches the manifest; cilium publishes a Helm chart only, rendered before this step. */
export function calicoManifestUrl(version: string): string {
  return `https://raw.githubusercontent.com/projectcalico/calico/${version}/manifests/calico.yaml`;
}

/**
 * Calico's manifest names docker.io/calico images; kubeon fetches the identical quay.io/calico ones
 * (src/artifacts/plan.ts catalogImages), so the references are normalised first and offline archives
 * match them by name.
 */
function canonical(ref: string): string {
  return ref.replace(/^(docker\.io\/)?calico\//, 'quay.io/calico/');
}

/**
 * An image in the spec's repositories. A pinned digest is dropped: kubeon ships and verifies images by
 * the catalog's tags, and a digest of upstream's index need not match a mirror's or an imported copy.
 */
export function rewriteImage(ref: string, spec: RenderInput['spec']): string {
  return nodeImage(canonical(ref.split('@')[0]!), spec);
}

function setEnv(doc: Document, container: YAMLMap, name: string, value: string): void {
  const env = container.get('env');
  if (!isSeq(env)) {
    container.set('env', doc.createNode([{ name, value }]));
    return;
  }
  const hit = env.items.find((e) => isMap(e) && e.get('name') === name);
  if (isMap(hit)) hit.set('value', value);
  else env.add(doc.createNode({ name, value }));
}

function kindOf(doc: Document): string | undefined {
  const k = doc.get('kind');
  return typeof k === 'string' ? k : undefined;
}

function nameOf(doc: Document): string | undefined {
  const n = doc.getIn(['metadata', 'name']);
  return typeof n === 'string' ? n : undefined;
}

export function cniManifest(input: Pick<RenderInput, 'spec'>, upstream: string): string | undefined {
  const cni = input.spec.network.cni;
  if (cni === 'none') return undefined;
  const docs = parseAllDocuments(upstream, { version: '1.1' });
  const out: string[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length)
      throw new Error(`the ${cni} manifest is not valid YAML: ${doc.errors[0]!.message}`);
    if (doc.contents === null) continue;
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.key) && pair.key.value === 'image' && isScalar(pair.value)) {
          const v = pair.value.value;
          if (typeof v === 'string') pair.value.value = rewriteImage(v, input.spec);
        }
      },
    });
    if (cni === 'calico' && kindOf(doc) === 'DaemonSet' && nameOf(doc) === 'calico-node') {
      const containers = doc.getIn(['spec', 'template', 'spec', 'containers']);
      if (isSeq(containers)) {
        for (const c of containers.items) {
          if (isMap(c) && c.get('name') === 'calico-node')
            setEnv(doc, c, 'CALICO_IPV4POOL_CIDR', input.spec.network.podCIDR);
        }
      }
    }
    if (cni === 'cilium' && kindOf(doc) === 'ConfigMap' && nameOf(doc) === 'cilium-config') {
      // Node pod ranges come from the controller-manager (--allocate-node-cidrs), as with calico.
      doc.setIn(['data', 'ipam'], 'kubernetes');
      doc.setIn(['data', 'cluster-pool-ipv4-cidr'], input.spec.network.podCIDR);
    }
    // Every document opens with its own marker, whether or not upstream wrote one.
    if (doc.directives) doc.directives.docStart = true;
    out.push(doc.toString());
  }
  return out.join('');
}
