/**
 * kubeadm's semantic checks of a decoded configuration (ValidateInitConfiguration,
 * ValidateClusterConfiguration and ValidateJoinConfiguration in
 * cmd/kubeadm/app/apis/kubeadm/validation/validation.go, plus the dynamic defaulting in
 * util/config/initconfiguration.go that fails before them), with the same field paths and texts.
 * As upstream, pod and service subnets may overlap: kubeadm does not compare them.
 */
import { aggregate, invalid, required } from './field-errors.js';
import {
  cidrString,
  dns1123SubdomainErrors,
  ipFamily,
  parseCidr,
  parseHostPort,
  rangeSize,
  splitHostPort,
  wildcardDns1123Errors,
} from './netaddr.js';
import { kubeadmFeatureGates } from './versions.js';

/** constants.go: MinimumAddressesInServiceSubnet, MaximumBitsForServiceSubnet, MinimumAddressesInPodSubnet, PodSubnetNodeMaskMaxDiff. */
const MIN_SERVICE_ADDRESSES = 10n;
const MAX_SERVICE_BITS = 20;
const MIN_POD_ADDRESSES = 14n;
const POD_NODE_MASK_MAX_DIFF = 16;

export interface ClusterView {
  dnsDomain: string;
  serviceSubnet: string;
  podSubnet?: string;
  controllerManagerExtra: [string, string][];
  certSANs: string[];
  etcdLocal?: { dataDir: string; serverCertSANs: string[]; peerCertSANs: string[]; imageRepository?: string };
  certificatesDir: string;
  featureGates: Record<string, boolean>;
  controlPlaneEndpoint?: string;
  imageRepository: string;
  dnsImageRepository?: string;
  extraArgs: Record<string, [string, string][]>;
}

export interface NodeView {
  name: string;
  criSocket: string;
  kubeletExtra: [string, string][];
}

export interface TokenView {
  token: string;
  usages: string[];
  groups: string[];
  ttlAndExpires: boolean;
}

export interface EndpointView {
  advertiseAddress: string;
  bindPort: number;
}

export interface JoinView {
  node: NodeView;
  bootstrapToken?: { token: string; apiServerEndpoint: string; caCertHashes: string[]; unsafeSkip: boolean };
  file?: string;
  tlsBootstrapToken: string;
  controlPlane?: { endpoint: EndpointView; certificateKey?: string };
  caCertPath: string;
}

const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const KNOWN_USAGES = ['signing', 'authentication'];

/**
 * distribution/reference's ReferenceRegexp, which ValidateImageRepository matches against
 * `<repository>/name:tag`.
 */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

function certSANs(path: string, sans: string[]): string[] {
  const out: string[] = [];
  for (const san of sans) {
    const e1 = dns1123SubdomainErrors(san);
    if (!e1.length) continue;
    const e2 = wildcardDns1123Errors(san);
    if (!e2.length || ipFamily(san)) continue;
    out.push(
      invalid(
        path,
        san,
        `altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: ${e1.join('; ')}; ${e2.join('; ')}`,
      ),
    );
  }
  return out;
}

function absolute(path: string, value: string): string[] {
  return value.startsWith('/') ? [] : [invalid(path, value, 'path is not absolute')];
}

function imageRepository(path: string, repo: string): string[] {
  return REFERENCE.test(`${repo}/name:tag`) ? [] : [invalid(path, repo, 'invalid image repository format')];
}

function extraArgs(path: string, args: [string, string][]): string[] {
  return args.flatMap(([name], i) => (name ? [] : [invalid(path, `index ${i}`, 'argument has no name')]));
}

function subnet(path: string, text: string, min: bigint): string[] {
  const parsed = text.split(',').map((s) => parseCidr(s));
  if (parsed.some((c) => !c)) return [invalid(path, text, "couldn't parse subnet")];
  const cidrs = parsed as NonNullable<(typeof parsed)[number]>[];
  const out: string[] = [];
  const pairing = 'expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking';
  if (cidrs.length > 2) out.push(invalid(path, text, pairing));
  else if (cidrs.length === 2 && cidrs[0]!.family === cidrs[1]!.family)
    out.push(invalid(path, text, pairing));
  for (const c of cidrs) {
    const n = rangeSize(c);
    if (n < min)
      out.push(
        invalid(path, cidrString(c), `subnet with ${n} address(es) is too small, the minimum is ${min}`),
      );
  }
  return out;
}

function arg(args: [string, string][], name: string): string | undefined {
  return args.filter(([n]) => n === name).pop()?.[1];
}

function networking(c: ClusterView): string[] {
  const out = dns1123SubdomainErrors(c.dnsDomain).map((e) => invalid('networking.dnsDomain', c.dnsDomain, e));
  if (c.serviceSubnet) {
    const path = 'networking.serviceSubnet';
    const errs = subnet(path, c.serviceSubnet, MIN_SERVICE_ADDRESSES);
    out.push(...errs);
    if (!errs.some((e) => e.includes("couldn't parse"))) {
      for (const s of c.serviceSubnet.split(',').map((x) => parseCidr(x)!)) {
        if (s.bits - s.ones > MAX_SERVICE_BITS)
          out.push(
            invalid(
              path,
              cidrString(s),
              `specified service subnet is too large; for ${s.bits}-bit addresses, the mask must be >= ${s.bits - MAX_SERVICE_BITS}`,
            ),
          );
      }
    }
  }
  if (c.podSubnet) {
    const path = 'networking.podSubnet';
    const errs = subnet(path, c.podSubnet, MIN_POD_ADDRESSES);
    out.push(...errs);
    if (
      !errs.some((e) => e.includes("couldn't parse")) &&
      arg(c.controllerManagerExtra, 'allocate-node-cidrs') !== 'false'
    ) {
      for (const p of c.podSubnet.split(',').map((x) => parseCidr(x)!)) {
        const flag = p.family === 6 ? 'node-cidr-mask-size-ipv6' : 'node-cidr-mask-size-ipv4';
        const given = arg(c.controllerManagerExtra, flag);
        const nodeMask = given === undefined ? (p.family === 6 ? 64 : 24) : Number(given);
        if (given !== undefined && !/^-?\d+$/.test(given)) {
          out.push(
            invalid(
              path,
              cidrString(p),
              `could not parse the value of the kube-controller-manager flag ${flag} as an integer: strconv.Atoi: parsing ${JSON.stringify(given)}: invalid syntax`,
            ),
          );
        } else if (p.ones > nodeMask) {
          out.push(
            invalid(
              path,
              cidrString(p),
              `the size of pod subnet with mask ${p.ones} is smaller than the size of node subnet with mask ${nodeMask}`,
            ),
          );
        } else if (nodeMask - p.ones > POD_NODE_MASK_MAX_DIFF) {
          out.push(
            invalid(
              path,
              cidrString(p),
              `pod subnet mask (${p.ones}) and node-mask (${nodeMask}) difference is greater than ${POD_NODE_MASK_MAX_DIFF}`,
            ),
          );
        }
      }
    }
  }
  return out;
}

export function validateCluster(c: ClusterView, minor: number): string[] {
  const out: string[] = [];
  if (c.dnsImageRepository) out.push(...imageRepository('dns.imageRepository', c.dnsImageRepository));
  out.push(...networking(c));
  out.push(...certSANs('apiServer.certSANs', c.certSANs));
  for (const [component, args] of Object.entries(c.extraArgs))
    out.push(...extraArgs(`${component}.extraArgs`, args));
  out.push(...absolute('certificatesDir', c.certificatesDir));
  const known = kubeadmFeatureGates(minor);
  for (const k of Object.keys(c.featureGates)) {
    if (!(k in known)) out.push(invalid('featureGates', c.featureGates, `${k} is not a valid feature name.`));
  }
  if (c.controlPlaneEndpoint && 'error' in parseHostPort(c.controlPlaneEndpoint))
    out.push(invalid('controlPlaneEndpoint', c.controlPlaneEndpoint, 'endpoint is not valid'));
  out.push(...imageRepository('imageRepository', c.imageRepository));
  if (c.etcdLocal) {
    out.push(...absolute('etcd.local.dataDir', c.etcdLocal.dataDir));
    out.push(...certSANs('etcd.local.serverCertSANs', c.etcdLocal.serverCertSANs));
    out.push(...certSANs('etcd.local.peerCertSANs', c.etcdLocal.peerCertSANs));
    if (c.etcdLocal.imageRepository)
      out.push(...imageRepository('etcd.local.imageRepository', c.etcdLocal.imageRepository));
  }
  return out;
}

function node(path: string, n: NodeView): string[] {
  const out: string[] = [];
  if (!n.name)
    out.push(
      required(
        path,
        "--node-name or .nodeRegistration.name in the config file is a required value. It seems like this value couldn't be automatically detected in your environment, please specify the desired value using the CLI or config file.",
      ),
    );
  else out.push(...dns1123SubdomainErrors(n.name).map((e) => invalid(`${path}.name`, n.name, e)));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(n.criSocket)?.[1] ?? '';
  if (!n.criSocket) out.push(invalid(`${path}.criSocket`, n.criSocket, 'empty CRI socket'));
  else if (scheme && scheme !== 'unix')
    out.push(
      invalid(`${path}.criSocket`, n.criSocket, `only URL scheme "unix" is supported, got "${scheme}"`),
    );
  out.push(...extraArgs(`${path}.kubeletExtraArgs`, n.kubeletExtra));
  return out;
}

function token(path: string, t: string): string[] {
  return TOKEN.test(t) ? [] : [invalid(path, t, 'the bootstrap token is invalid')];
}

function endpoint(path: string, e: EndpointView): string[] {
  const out: string[] = [];
  if (!ipFamily(e.advertiseAddress))
    out.push(invalid(`${path}.advertiseAddress`, e.advertiseAddress, 'ip address is not valid'));
  if (!(Number.isInteger(e.bindPort) && e.bindPort >= 1 && e.bindPort <= 65535))
    out.push(invalid(`${path}.bindPort`, e.bindPort, 'port number is not valid'));
  return out;
}

/** ValidateCertificateKey: a hex encoded AES-256 key. */
export function certificateKeyErrors(path: string, key: string | undefined): string[] {
  if (!key) return [];
  const bad = /[^0-9a-fA-F]/.exec(key);
  if (bad) {
    const cp = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return [
      invalid(path, key, `certificate key decoding error: encoding/hex: invalid byte: U+${cp} '${bad[0]}'`),
    ];
  }
  if (key.length % 2)
    return [invalid(path, key, 'certificate key decoding error: encoding/hex: odd length hex string')];
  if (key.length / 2 !== 32)
    return [
      invalid(
        path,
        key,
        `invalid certificate key size ${key.length / 2}, the key must be an AES key of size 32`,
      ),
    ];
  return [];
}

function tokens(ts: TokenView[]): string[] {
  const out: string[] = [];
  ts.forEach((t, i) => {
    const p = `bootstrapTokens.${i}`;
    out.push(...token(`${p}.token`, t.token));
    const bad = t.usages.filter((u) => !KNOWN_USAGES.includes(u)).sort();
    if (bad.length)
      out.push(
        invalid(
          `${p}.usages`,
          t.usages,
          `invalid bootstrap token usage string: ${bad.join(',')}, valid usage options: ${KNOWN_USAGES.join(',')}`,
        ),
      );
    if (t.groups.length && !t.usages.includes('authentication'))
      out.push(
        invalid(
          `${p}.groups`,
          t.groups,
          'token groups cannot be specified unless --usages includes "authentication"',
        ),
      );
    for (const g of t.groups) {
      if (!GROUP.test(g))
        out.push(
          invalid(
            `${p}.groups`,
            t.groups,
            `bootstrap group ${JSON.stringify(g)} is invalid (must match ${GROUP.source})`,
          ),
        );
    }
    if (t.ttlAndExpires)
      out.push(invalid(p, '', 'the BootstrapToken .TTL and .Expires fields are mutually exclusive'));
  });
  return out;
}

/** ValidateIgnorePreflightErrors: `all` stands alone. */
export function ignorePreflightErrors(cli: string[], config: string[]): string[] {
  const set = [...new Set([...config, ...cli].map((s) => s.toLowerCase()))].sort();
  if (set.includes('all') && set.length > 1)
    return [
      invalid('ignore-preflight-errors', set.join(','), "don't specify individual checks if 'all' is used"),
    ];
  return [];
}

/** SetAPIEndpointDynamicDefaults fails on an address that is not an IP before validation runs. */
export function advertiseAddressError(address: string | undefined): string | undefined {
  if (address === undefined || address === '' || ipFamily(address)) return undefined;
  return `couldn't use "${address}" as "apiserver-advertise-address", must be ipv4 or ipv6 address`;
}

export function validateInit(
  n: NodeView,
  ts: TokenView[],
  c: ClusterView,
  e: EndpointView,
  certificateKey: string | undefined,
  minor: number,
): string[] {
  return [
    ...node('nodeRegistration', n),
    ...tokens(ts),
    ...validateCluster(c, minor),
    ...endpoint('localAPIEndpoint', e),
    ...certificateKeyErrors('certificateKey', certificateKey),
  ];
}

export function validateJoin(j: JoinView): string[] {
  const out: string[] = [];
  if (!j.bootstrapToken && !j.file) out.push(invalid('discovery', '', 'bootstrapToken or file must be set'));
  if (j.bootstrapToken && j.file)
    out.push(invalid('discovery', '', 'bootstrapToken and file cannot both be set'));
  const b = j.bootstrapToken;
  if (b) {
    const p = 'discovery.bootstrapToken';
    if (!b.apiServerEndpoint) out.push(required(p, 'APIServerEndpoint is not set'));
    if (!b.caCertHashes.length && !b.unsafeSkip)
      out.push(
        invalid(
          `${p}.caCertHashes`,
          '',
          'using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue',
        ),
      );
    out.push(...token(`${p}.token`, b.token));
    const split = splitHostPort(b.apiServerEndpoint);
    if ('error' in split) out.push(invalid(`${p}.apiServerEndpoint`, b.apiServerEndpoint, split.error));
    out.push(...token('discovery.tlsBootstrapToken', j.tlsBootstrapToken));
  }
  if (j.file && j.tlsBootstrapToken) out.push(...token('discovery.tlsBootstrapToken', j.tlsBootstrapToken));
  out.push(...node('nodeRegistration', j.node));
  if (j.controlPlane) {
    out.push(...endpoint('controlPlane.localAPIEndpoint', j.controlPlane.endpoint));
    out.push(...certificateKeyErrors('controlPlane.certificateKey', j.controlPlane.certificateKey));
  }
  if (!j.caCertPath.startsWith('/') || !j.caCertPath.endsWith('.crt'))
    out.push(invalid('caCertPath', j.caCertPath, 'the ca certificate path must be an absolute path'));
  return out;
}

export { aggregate };
