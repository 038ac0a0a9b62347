import type { Command } from 'commander';

/** Repeatable flag: each occurrence appends (commas are not split, so values may contain them). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const ROLES = ['master', 'worker'] as const;
const SCOPES = ['', 'master-', 'worker-'] as const;

/** Every flag whose value is a secret, so a command line can be shown with the values masked. */
export const SECRET_FLAGS: ReadonlySet<string> = new Set([
  ...ROLES.flatMap((r) => [`--${r}-passwd`, `--${r}-pk-password`]),
  ...SCOPES.flatMap((s) => [`--default-${s}passwd`, `--default-${s}pk-password`]),
  '--bastion-passwd',
]);

/** Node and SSH flags shared by create and add, compatible with the original kubeon. */
export function addNodeFlags(cmd: Command): Command {
  for (const role of ROLES) {
    const short = role === 'master' ? '-m' : '-w';
    const nameShort = role === 'master' ? '-M' : '-W';
    cmd
      .option(`${short}, --${role} <ip>`, `${role} address (repeatable)`, collect)
      .option(
        `${nameShort}, --${role}-name <name>`,
        `${role} node name, in -${short.slice(1)} order (repeatable)`,
        collect,
      )
      .option(`--${role}-port <port>`, `SSH port per ${role} (repeatable)`, collect)
      .option(`--${role}-user <user>`, `SSH user per ${role} (repeatable)`, collect)
      .option(
        `--${role}-passwd <password>`,
        `SSH password per ${role} (repeatable; prefer --ask-pass)`,
        collect,
      )
      .option(`--${role}-pk-file <path>`, `private key per ${role} (repeatable)`, collect)
      .option(`--${role}-pk-password <passphrase>`, `key passphrase per ${role} (repeatable)`, collect)
      .option(`--${role}-labels <k=v,...>`, `node labels per ${role} (repeatable)`, collect);
  }
  for (const scope of SCOPES) {
    const who = scope === '' ? 'every node' : `${scope.slice(0, -1)}s`;
    cmd
      .option(`--default-${scope}user <user>`, `SSH user for ${who} (default root)`)
      .option(`--default-${scope}port <port>`, `SSH port for ${who} (default 22)`)
      .option(`--default-${scope}passwd <password>`, `SSH password for ${who} (prefer --ask-pass)`)
      .option(`--default-${scope}pk-file <path>`, `private key for ${who}`)
      .option(`--default-${scope}pk-password <passphrase>`, `key passphrase for ${who}`);
  }
  cmd
    .option('--ask-pass', 'prompt for the SSH password (no echo) instead of passing it as a flag')
    .option('--bastion <user@host:port>', 'jump host for every connection')
    .option('--bastion-passwd <password>', 'jump host password')
    .option('--bastion-pk-file <path>', 'jump host private key');
  return cmd;
}

/** Cluster-wide flags of create. */
export function addClusterFlags(cmd: Command): Command {
  return cmd
    .option('-f, --file <cluster.yaml>', 'declarative cluster spec; flags override it')
    .option('--lb-mode <mode>', 'HA mode: haproxy (default) or updater; --lb-ip implies external')
    .option('--lb-ip <ip>', 'external load balancer address (external HA mode)')
    .option('--lb-port <port>', 'control-plane endpoint port (default 6443)')
    .option('--lb-domain <name>', 'control-plane endpoint name (default apiserver.cluster.local)')
    .option('--svc-cidr <cidr>', 'Service CIDR (default 10.96.0.0/12)')
    .option('--pod-cidr <cidr>', 'Pod CIDR (default 10.244.0.0/16)')
    .option('--dns-domain <domain>', 'cluster DNS domain (default cluster.local)')
    .option('--cri <runtime>', 'container runtime: containerd')
    .option('--cni <plugin>', 'calico (default), cilium or none')
    .option('--proxy <mode>', 'kube-proxy mode: iptables (default) or ipvs')
    .option(
      '--mirror <global|cn|URL>',
      'artifact source profile or prefix mirror (repeatable, tried in order)',
      collect,
    )
    .option('--image-repo <repo>', 'container image repository (repeatable, tried in order)', collect)
    .option('--offline', 'ship container images from the control machine')
    .option('--cert-san <name|ip>', 'extra apiserver certificate SAN (repeatable)', collect)
    .option('--max-pods <n>', 'kubelet maxPods (default 110)')
    .option('--port-range <low-high>', 'NodePort range (default 30000-32767)')
    .option('--cert-validity <hours>', 'leaf certificate validity (default 876000h = 100 years)')
    .option('--ca-validity <hours>', 'CA validity (default 876000h)')
    .option('--key-algorithm <alg>', 'RSA-2048 (default) or ECDSA-P256');
}
