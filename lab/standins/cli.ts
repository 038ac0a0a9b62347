/**
 * `npm run lab -- standins ...`: build the stand-in executables, install them on lab hosts, read a
 * host's call log.
 */
import { parseArgs } from 'node:util';
import { hostExec, labStatus } from '../api.js';
import { STANDIN_COMPONENTS, standinExecutable } from './index.js';
import { installStandins } from './install.js';

const USAGE = `usage: lab standins build [--version V] [COMPONENT...]
       lab standins install [--id ID] --kubernetes vX.Y.Z [--containerd X.Y.Z] [--endpoint IP] HOST...
       lab standins calls [--id ID] HOST

build    prints the path of each built executable (default: every component at --version)
install  puts binaries, kubelet/containerd units, containerd config and sysctls on the hosts;
         --endpoint adds "IP apiserver.cluster.local" to /etc/hosts
calls    prints the host's /var/log/kubeon-standins/calls.jsonl`;

export async function standinsCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      id: { type: 'string', default: 'default' },
      version: { type: 'string', default: 'v1.31.14' },
      kubernetes: { type: 'string' },
      containerd: { type: 'string', default: '1.7.27' },
      endpoint: { type: 'string' },
    },
  });
  if (cmd === 'build') {
    for (const c of positionals.length ? positionals : STANDIN_COMPONENTS) {
      process.stdout.write(`${await standinExecutable(c, values.version, 'amd64')}\n`);
    }
    return 0;
  }
  if (cmd === 'install' || cmd === 'calls') {
    const lab = await labStatus(values.id);
    if (!lab) throw new Error(`lab "${values.id}" is not up`);
    if (!positionals.length) throw new Error(`${cmd}: name at least one host`);
    if (cmd === 'calls') {
      const r = await hostExec(lab, positionals[0]!, ['cat', '/var/log/kubeon-standins/calls.jsonl']);
      process.stdout.write(r.stdout);
      return r.code;
    }
    if (!values.kubernetes) throw new Error('install: --kubernetes vX.Y.Z is required');
    const opts = {
      kubernetes: values.kubernetes,
      containerd: values.containerd,
      ...(values.endpoint ? { hosts: [`${values.endpoint} apiserver.cluster.local`] } : {}),
    };
    await Promise.all(positionals.map((h) => installStandins((a, o) => hostExec(lab, h, a, o ?? {}), opts)));
    process.stdout.write(`installed on ${positionals.join(' ')}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return cmd === undefined || cmd === 'help' ? 0 : 2;
}
