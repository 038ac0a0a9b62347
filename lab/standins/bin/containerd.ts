/**
 * containerd stand-in: reads config.toml for its own config version, serves the runtime socket
 * (JSON instead of CRI gRPC, see lib/cri.ts), keeps a record of imported images, runs nothing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { CallLog } from '../lib/calllog.js';
import {
  type ContainerdConfigError,
  defaultConfig,
  parseContainerdConfig,
  type RuntimeSettings,
} from '../lib/containerd-config.js';
import type { ImageRecord, RuntimeInfo } from '../lib/cri.js';
import type { CriContainer } from '../lib/cri-containers.js';
import { type FlagError, flag, parseFlags, str } from '../lib/flags.js';
import { CRI_NAMESPACE, findImage, type ImageStatus, missingHint } from '../lib/images.js';
import { pullImage } from '../lib/pull.js';
import { builtVersionText } from '../lib/versions.js';

const VERSION = builtVersionText().replace(/^v/, '');
const MAJOR = Number(VERSION.split('.')[0]);
const log = new CallLog('containerd', VERSION);

function die(msg: string): never {
  process.stderr.write(`containerd: ${msg}\n`);
  log.write('failed', { error: msg });
  process.exit(1);
}

function imagesFile(root: string): string {
  return `${root}/io.containerd.standin/images.json`;
}

function readImages(root: string): ImageRecord[] {
  try {
    return JSON.parse(readFileSync(imagesFile(root), 'utf8')) as ImageRecord[];
  } catch {
    return [];
  }
}

/** Images are per namespace: the same name in two namespaces is two images. */
function storeImages(root: string, add: ImageRecord[]): void {
  const key = (i: ImageRecord) => `${i.namespace ?? 'default'}/${i.name}`;
  const images = readImages(root).filter((i) => !add.some((a) => key(a) === key(i)));
  images.push(...add);
  mkdirSync(dirname(imagesFile(root)), { recursive: true, mode: 0o700 });
  writeFileSync(imagesFile(root), JSON.stringify(images, null, 1));
}

/** CRI ImageStatus: the normalised reference, in k8s.io only. */
function imageStatus(images: ImageRecord[], ref: string): ImageStatus {
  try {
    const image = findImage(images, ref);
    return image ? { image } : { missing: missingHint(ref, images) };
  } catch (e) {
    return { missing: (e as Error).message };
  }
}

function main(argv: string[]): void {
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(
      `containerd github.com/containerd/containerd${MAJOR >= 2 ? '/v2' : ''} v${VERSION} standin\n`,
    );
    return;
  }
  if (argv[0] === 'config') {
    if (argv[1] === 'default') {
      process.stdout.write(defaultConfig(MAJOR));
      return;
    }
    die(`config: unknown subcommand "${argv[1] ?? ''}"`);
  }
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, {
      config: flag.str('c'),
      'log-level': flag.str('l'),
      address: flag.str('a'),
      root: flag.str(),
      state: flag.str(),
    });
  } catch (e) {
    die(
      `flag provided but not defined: ${(e as FlagError).message.replace(/^unknown (shorthand )?flag: /, '')}`,
    );
  }
  if (parsed.args.length) die(`No help topic for '${parsed.args[0]}'`);
  const cfgPath = str(parsed, 'config') ?? '/etc/containerd/config.toml';
  let settings: RuntimeSettings;
  if (existsSync(cfgPath)) {
    const text = readFileSync(cfgPath, 'utf8');
    log.noteConfig(cfgPath, text);
    try {
      settings = parseContainerdConfig(text, MAJOR);
    } catch (e) {
      die(`failed to load TOML from ${cfgPath}: ${(e as ContainerdConfigError).message}`);
    }
  } else {
    settings = parseContainerdConfig(`version = ${MAJOR >= 2 ? 3 : 2}\n`, MAJOR);
  }
  for (const w of settings.warnings)
    process.stderr.write(`time="${new Date().toISOString()}" level=warning msg="${w}"\n`);
  const address = str(parsed, 'address') ?? settings.grpcAddress;
  const root = str(parsed, 'root') ?? settings.root;
  log.write('start', {
    argv,
    configVersion: settings.configVersion,
    systemdCgroup: settings.systemdCgroup,
    warnings: settings.warnings,
  });
  const info: RuntimeInfo = {
    version: `v${VERSION}`,
    runtimeName: 'containerd',
    runtimeApiVersion: 'v1',
    cgroupDriver: settings.systemdCgroup ? 'systemd' : 'cgroupfs',
    sandboxImage: settings.sandboxImage,
    configVersion: settings.configVersion,
    runtimeConfig: MAJOR >= 2,
  };
  mkdirSync(dirname(address), { recursive: true, mode: 0o711 });
  if (existsSync(address)) rmSync(address);
  // what the kubelet runs through this runtime, as it last reported it
  let containers: CriContainer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (code: number, body: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/v1/version') return reply(200, info);
      if (req.method === 'GET' && req.url === '/v1/images') return reply(200, readImages(root));
      if (req.method === 'GET' && req.url === '/v1/containers') return reply(200, containers);
      if (req.method === 'GET' && req.url === '/v1/pods') return reply(200, []);
      if (req.method === 'PUT' && req.url === '/v1/containers') {
        containers = JSON.parse(Buffer.concat(chunks).toString()) as CriContainer[];
        return reply(200, containers);
      }
      if (req.method === 'POST' && req.url === '/v1/images/status') {
        const { image } = JSON.parse(Buffer.concat(chunks).toString()) as { image: string };
        return reply(200, imageStatus(readImages(root), image));
      }
      if (req.method === 'POST' && req.url === '/v1/images/pull') {
        const { image } = JSON.parse(Buffer.concat(chunks).toString()) as { image: string };
        pullImage(image, settings).then(
          (got) => {
            storeImages(root, [{ ...got, namespace: CRI_NAMESPACE }]);
            log.write('images-pull', { image: got.name, digest: got.digest });
            reply(200, got);
          },
          (e: Error) => {
            log.write('images-pull-failed', { image, error: e.message });
            reply(500, { error: e.message });
          },
        );
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/images') {
        const add = JSON.parse(Buffer.concat(chunks).toString()) as ImageRecord[];
        storeImages(root, add);
        log.write('images-import', { images: add.map((a) => a.name), namespace: add[0]?.namespace });
        return reply(200, add);
      }
      reply(404, { error: `unknown path ${req.url}` });
    });
  });
  server.on('error', (e) => die(`failed to serve containerd api: listen unix ${address}: ${e.message}`));
  server.listen(address, () => {
    chmodSync(address, 0o660);
    process.stderr.write(
      `time="${new Date().toISOString()}" level=info msg="containerd successfully booted" address=${address}\n`,
    );
    // upstream's unit is Type=notify; systemd-notify reports for its parent, this process
    if (process.env.NOTIFY_SOCKET) spawnSync('systemd-notify', ['--ready'], { stdio: 'ignore' });
  });
  const stop = () => {
    server.close();
    rmSync(address, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv.slice(2));
