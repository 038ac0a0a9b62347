/**
 * crictl stand-in: the endpoint comes from --runtime-endpoint or /etc/crictl.yaml (decoded
 * strictly), `info`/`version`/`images`/`ps`/`pods` ask the containerd stand-in. `ps` lists the
 * containers the kubelet reported to containerd; `pods` is empty (no sandbox is kept); `pull` asks
 * containerd, which pulls through its hosts.toml mirrors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CallLog } from '../lib/calllog.js';
import { parseYamlDocs } from '../lib/config.js';
import { criCall, type ImageRecord, type RuntimeInfo } from '../lib/cri.js';
import { type CriContainer, filterContainers } from '../lib/cri-containers.js';
import { bool, FlagError, flag, parseFlags, str } from '../lib/flags.js';
import { builtVersionText } from '../lib/versions.js';

const VERSION = builtVersionText();

/** go-units HumanDuration, as crictl's CREATED column shows it. */
function ago(ms: number): string {
  const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
  if (s < 1) return 'Less than a second ago';
  if (s === 1) return '1 second ago';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute ago';
  if (m < 60) return `${m} minutes ago`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour ago';
  return h < 48 ? `${h} hours ago` : `${Math.floor(h / 24)} days ago`;
}

const log = new CallLog('crictl', VERSION);
const CONFIG_KEYS = [
  'runtime-endpoint',
  'image-endpoint',
  'timeout',
  'debug',
  'pull-image-on-create',
  'disable-pull-on-run',
];

async function main(argv: string[]): Promise<void> {
  const global = {
    'runtime-endpoint': flag.str('r'),
    'image-endpoint': flag.str('i'),
    timeout: flag.str('t'),
    debug: flag.bool('D'),
    config: flag.str('c'),
    version: flag.bool('v'),
    help: flag.bool('h'),
  };
  const cmdIndex = argv.findIndex(
    (a, i) =>
      !a.startsWith('-') &&
      !['-r', '-i', '-t', '-c', '--runtime-endpoint', '--image-endpoint', '--timeout', '--config'].includes(
        argv[i - 1] ?? '',
      ),
  );
  const head = cmdIndex < 0 ? argv : argv.slice(0, cmdIndex);
  const cmd = cmdIndex < 0 ? undefined : argv[cmdIndex];
  const tail = cmdIndex < 0 ? [] : argv.slice(cmdIndex + 1);
  const g = parseFlags(head, global);
  log.write('call', { argv });
  if (bool(g, 'version')) {
    process.stdout.write(`crictl version ${VERSION}\n`);
    return;
  }
  const cfgPath = str(g, 'config') ?? process.env.CRI_CONFIG_FILE ?? '/etc/crictl.yaml';
  let endpoint = str(g, 'runtime-endpoint') ?? process.env.CONTAINER_RUNTIME_ENDPOINT;
  if (existsSync(cfgPath)) {
    const text = readFileSync(cfgPath, 'utf8');
    log.noteConfig(cfgPath, text);
    const [doc] = parseYamlDocs(text, cfgPath);
    for (const k of Object.keys(doc ?? {})) {
      if (!CONFIG_KEYS.includes(k))
        throw new FlagError(
          `load config file: yaml: unmarshal errors:\n  field ${k} not found in type crictl.Config`,
        );
    }
    endpoint = endpoint ?? (doc?.['runtime-endpoint'] as string | undefined);
  }
  if (!endpoint) {
    process.stderr.write(
      'WARN: runtime connect using default endpoints: [unix:///run/containerd/containerd.sock unix:///run/crio/crio.sock unix:///var/run/cri-dockerd.sock]. As the default settings are now deprecated, you should set the endpoint instead.\n',
    );
    endpoint = 'unix:///run/containerd/containerd.sock';
  }
  const sub = parseFlags(tail, {
    quiet: flag.bool('q'),
    output: flag.str('o'),
    all: flag.bool('a'),
    verbose: flag.bool('v'),
    digests: flag.bool(),
    'no-trunc': flag.bool(),
    name: flag.str(),
    state: flag.str('s'),
  });
  const o = str(sub, 'output');
  switch (cmd) {
    case 'version': {
      const info = await criCall<RuntimeInfo>(endpoint, 'GET', '/v1/version');
      process.stdout.write(
        `Version:  0.1.0\nRuntimeName:  ${info.runtimeName}\nRuntimeVersion:  ${info.version}\nRuntimeApiVersion:  ${info.runtimeApiVersion}\n`,
      );
      return;
    }
    case 'info': {
      const info = await criCall<RuntimeInfo>(endpoint, 'GET', '/v1/version');
      process.stdout.write(
        `${JSON.stringify(
          {
            status: {
              conditions: [
                { type: 'RuntimeReady', status: true },
                {
                  type: 'NetworkReady',
                  status: false,
                  reason: 'NetworkPluginNotReady',
                  message: 'Network plugin returns error: cni plugin not initialized',
                },
              ],
            },
            config: {
              sandboxImage: info.sandboxImage,
              containerd: {
                runtimes: { runc: { options: { SystemdCgroup: info.cgroupDriver === 'systemd' } } },
              },
            },
          },
          null,
          2,
        )}\n`,
      );
      return;
    }
    case 'images':
    case 'image':
    case 'img': {
      // the CRI plugin only sees containerd's k8s.io namespace
      const images = (
        await criCall<(ImageRecord & { namespace?: string })[]>(endpoint, 'GET', '/v1/images')
      ).filter((i) => i.namespace === 'k8s.io');
      if (o === 'json')
        process.stdout.write(
          `${JSON.stringify({ images: images.map((i) => ({ id: i.digest, repoTags: [i.name], size: String(i.size) })) }, null, 2)}\n`,
        );
      else if (bool(sub, 'quiet')) for (const i of images) process.stdout.write(`${i.digest}\n`);
      else {
        process.stdout.write(
          'IMAGE                                     TAG                 IMAGE ID            SIZE\n',
        );
        for (const i of images) {
          const at = i.name.lastIndexOf(':');
          process.stdout.write(
            `${i.name.slice(0, at).padEnd(42)}${i.name.slice(at + 1).padEnd(20)}${i.digest.slice(7, 20).padEnd(20)}${i.size}\n`,
          );
        }
      }
      return;
    }
    case 'ps': {
      const all = await criCall<CriContainer[]>(endpoint, 'GET', '/v1/containers');
      const state = str(sub, 'state');
      const name = str(sub, 'name');
      let list: CriContainer[];
      try {
        list = filterContainers(all, {
          all: bool(sub, 'all'),
          ...(state !== undefined ? { state } : {}),
          ...(name !== undefined ? { name } : {}),
        });
      } catch (e) {
        throw new FlagError((e as Error).message);
      }
      if (o === 'json') process.stdout.write(`${JSON.stringify({ containers: list }, null, 2)}\n`);
      else if (o !== undefined && o !== 'table') throw new FlagError(`unsupported output format "${o}"`);
      else if (bool(sub, 'quiet')) for (const c of list) process.stdout.write(`${c.id}\n`);
      else {
        const rows = [
          ['CONTAINER', 'IMAGE', 'CREATED', 'STATE', 'NAME', 'ATTEMPT', 'POD ID', 'POD'],
          ...list.map((c) => [
            c.id.slice(0, 13),
            c.image.image,
            ago(Number(BigInt(c.createdAt) / 1_000_000n)),
            c.state
              .replace('CONTAINER_', '')
              .toLowerCase()
              .replace(/^./, (l) => l.toUpperCase()),
            c.metadata.name,
            String(c.metadata.attempt),
            c.podSandboxId.slice(0, 13),
            c.labels['io.kubernetes.pod.name'] ?? '',
          ]),
        ];
        // text/tabwriter as crictl sets it up: minimum width 20, padding 3
        const widths = rows[0]!.map((_, i) => Math.max(20, ...rows.map((r) => r[i]!.length + 3)));
        for (const r of rows)
          process.stdout.write(
            `${r
              .map((cell, i) => cell.padEnd(widths[i]!))
              .join('')
              .trimEnd()}\n`,
          );
      }
      return;
    }
    case 'pods': {
      await criCall(endpoint, 'GET', '/v1/pods');
      if (o === 'json') process.stdout.write(`${JSON.stringify({ items: [] })}\n`);
      else if (!bool(sub, 'quiet'))
        process.stdout.write(
          'POD ID              CREATED             STATE               NAME                NAMESPACE           ATTEMPT             RUNTIME\n',
        );
      return;
    }
    case 'pull': {
      const image = sub.args[0];
      if (!image) throw new FlagError('Image name cannot be empty');
      let got: ImageRecord;
      try {
        got = await criCall<ImageRecord>(endpoint, 'POST', '/v1/images/pull', { image }, 120_000);
      } catch (e) {
        throw new FlagError(`pulling image: ${(e as Error).message}`);
      }
      process.stdout.write(`Image is up to date for ${got.digest}\n`);
      return;
    }
    default:
      throw new FlagError(`No help topic for '${cmd ?? ''}'`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`E ${(e as Error).message}\n`);
    log.write('failed', { error: (e as Error).message });
    process.exit(1);
  },
);
