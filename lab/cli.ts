// `npm run lab -- <command>`: the lab of simulated hosts (see lab/README.md).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { type FaultKind, fault, hostExec, type Lab, labDown, labStatus, labUp } from './api.js';

const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

function table(lab: Lab & { problems?: string[] }): string {
  const rows = lab.hosts.map((h) =>
    [h.name, h.kind, h.ip, h.refusesRoot ? 'refuses root' : 'root ok', h.hostKeyFingerprint].join('  '),
  );
  return [
    `lab ${lab.id}: ${lab.hosts.length} hosts on ${lab.subnet}; the machine is ${lab.gatewayIp} (${lab.iface})`,
    `state ${lab.dir}; ssh -F ${lab.sshConfigPath} HOST`,
    ...(lab.problems?.length ? [`problems: ${lab.problems.join('; ')}`] : []),
    ...rows,
  ].join('\n');
}

async function requireLab(id: string): Promise<Lab> {
  const lab = await labStatus(id);
  if (!lab) throw new Error(`lab "${id}" is not up; run "npm run lab -- up --id ${id}"`);
  return lab;
}

/**
 * Subcommands owned by other parts of the lab, loaded only if their module exists:
 * `lab mirror ...` (lab/mirror/cli.ts exports mirrorCommand) and
 * `lab standins ...` (lab/standins/cli.ts exports standinsCommand).
 */
const PLUGINS: Record<string, { file: string; fn: string }> = {
  mirror: { file: './mirror/cli.ts', fn: 'mirrorCommand' },
  standins: { file: './standins/cli.ts', fn: 'standinsCommand' },
};

async function plugin(name: string, argv: string[]): Promise<number | undefined> {
  const p = PLUGINS[name];
  if (!p) return undefined;
  const url = new URL(p.file, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write(`lab ${name}: not available yet (${fileURLToPath(url)} does not exist)\n`);
    return 2;
  }
  const mod = (await import(url.href)) as Record<string, (argv: string[]) => Promise<number>>;
  const fn = mod[p.fn];
  if (typeof fn !== 'function') throw new Error(`${p.file} does not export ${p.fn}`);
  return fn(argv);
}

export async function main(argv: string[]): Promise<number> {
  // ---- plugin dispatch: `lab mirror ...` and `lab standins ...` go to their own modules ----
  const [first, ...rest] = argv;
  if (first) {
    const code = await plugin(first, rest);
    if (code !== undefined) return code;
  }

  let exitCode = 0;
  const program = new Command('lab')
    .description(
      'Simulated hosts for kubeon: light (namespaces + sshd) and system (systemd-nspawn).\n' +
        'Also: "lab mirror ..." (loopback artifact mirror) and "lab standins ..." (Kubernetes stand-ins).',
    )
    .exitOverride()
    .showHelpAfterError();
  const idOpt = ['--id <id>', 'lab id (several labs may exist at once)', 'default'] as const;

  program
    .command('up')
    .description('bring a lab up (no-op if it is already up with the same shape)')
    .option('--light <n>', 'light hosts l001…', count)
    .option('--system <n>', 'system hosts s001… (systemd-nspawn)', count)
    .option(...idOpt)
    .option(
      '--refuse-root <host>',
      'host that refuses root login (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option(
      '--avoid-cidr <cidr>',
      'a cluster CIDR the lab subnet must not overlap, besides 10.96.0.0/12 and 10.244.0.0/16 (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--json', 'print the lab as JSON')
    .action(async (o) => {
      const lab = await labUp({
        id: o.id,
        light: o.light,
        system: o.system,
        refuseRoot: o.refuseRoot,
        avoidCidrs: o.avoidCidr,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(o.json ? `${JSON.stringify(lab, null, 2)}\n` : `${table(lab)}\n`);
    });

  program
    .command('down')
    .description('remove the lab: processes, namespaces, bridge, mounts, state (no-op if absent)')
    .option(...idOpt)
    .action(async (o) => {
      await labDown(o.id);
    });

  program
    .command('status')
    .description('show the lab; --json includes passwords and key paths')
    .option(...idOpt)
    .option('--json', 'every host with its credentials, as JSON')
    .action(async (o) => {
      const lab = await labStatus(o.id);
      if (!lab) {
        if (o.json) process.stdout.write('null\n');
        else process.stderr.write(`lab "${o.id}" is not up\n`);
        exitCode = 1;
        return;
      }
      process.stdout.write(o.json ? `${JSON.stringify(lab, null, 2)}\n` : `${table(lab)}\n`);
      if (lab.problems.length) exitCode = 1;
    });

  program
    .command('fault')
    .description('down | up | slow MS | fast | hostkey')
    .argument('<host>')
    .argument('<kind>')
    .argument('[ms]')
    .option(...idOpt)
    .action(async (host: string, kind: string, ms: string | undefined, o) => {
      if (!['down', 'up', 'slow', 'fast', 'hostkey'].includes(kind)) {
        throw new Error(`unknown fault "${kind}": use down, up, slow MS, fast or hostkey`);
      }
      await fault(await requireLab(o.id), host, kind as FaultKind, ms === undefined ? undefined : Number(ms));
    });

  program
    .command('exec')
    .description('run a command inside a host (through its namespaces, not ssh)')
    .argument('<host>')
    .argument('<cmd...>')
    .option(...idOpt)
    .option('--stdin', 'pass standard input to the command')
    .action(async (host: string, cmd: string[], o) => {
      const r = await hostExec(await requireLab(o.id), host, cmd, {
        input: o.stdin ? await readStdin() : '',
      });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      exitCode = r.code;
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 2;
    process.stderr.write(`lab: ${err.message ?? String(e)}\n`);
    return 1;
  }
  return exitCode;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
