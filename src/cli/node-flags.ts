import { type Command, Option } from 'commander';
import { CLUSTER_FLAGS } from '../cluster/from-flags.js';
import { PROXY_MODES } from '../cluster/spec-names.js';
import { ASK_PASS_HELP } from './ask-pass.js';
import { NODE_ROLES as ROLES } from './secret-flags.js';

/** Repeatable flag: each occurrence appends (commas are not split, so values may contain them). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Node and SSH flags shared by create and add, compatible with the original kubeon and sealos. */
export function addNodeFlags(cmd: Command): Command {
  cmd.optionsGroup('Nodes:');
  for (const role of ROLES) {
    const short = role === 'master' ? '-m' : '-w';
    const nameShort = role === 'master' ? '-M' : '-W';
    cmd
      .option(
        `${short}, --${role} <ips>`,
        `${role} addresses: repeat, list (a,b) or range (FIRST-LAST) [${role}s[].ip]`,
        collect,
      )
      .option(
        `${nameShort}, --${role}-name <name>`,
        `${role} node name, in ${short} order (repeatable) [${role}s[].name]`,
        collect,
      )
      .option(
        `--${role}-labels <k=v,...>`,
        `node labels: once for all ${role}s, or once per ${role} [${role}s[].labels]`,
        collect,
      );
  }
  cmd.optionsGroup('SSH (given once: every node of the role; repeated: one per address, in order):');
  for (const role of ROLES) {
    cmd
      .option(`--${role}-user <user>`, `SSH user of the ${role}s [${role}s[].user]`, collect)
      .option(`--${role}-port <port>`, `SSH port of the ${role}s [${role}s[].port]`, collect)
      .option(
        `--${role}-passwd <password>`,
        `SSH password of the ${role}s (prefer --ask-pass) [${role}s[].password]`,
        collect,
      )
      .option(`--${role}-pk-file <path>`, `private key of the ${role}s [${role}s[].privateKeyFile]`, collect)
      .option(
        `--${role}-pk-password <passphrase>`,
        `key passphrase of the ${role}s [${role}s[].privateKeyPassphrase]`,
        collect,
      );
  }
  cmd
    .option('--default-user <user>', 'SSH user of every node (default root) [ssh.defaults.user]')
    .option('--default-port <port>', 'SSH port of every node (default 22) [ssh.defaults.port]')
    .option(
      '--default-passwd <password>',
      'SSH password of every node (prefer --ask-pass) [ssh.defaults.password]',
    )
    .option('--default-pk-file <path>', 'private key of every node [ssh.defaults.privateKeyFile]')
    .option('--default-pk-password <passphrase>', 'key passphrase [ssh.defaults.privateKeyPassphrase]')
    .option('--ask-pass', `${ASK_PASS_HELP}; cluster.yaml keeps only that reference`)
    .option('--bastion <user@host:port>', 'jump host for every connection [ssh.bastion]')
    .option('--bastion-passwd <password>', 'jump host password [ssh.bastion.password]')
    .option('--bastion-pk-file <path>', 'jump host private key [ssh.bastion.privateKeyFile]');
  // The original kubeon's per-role defaults: --master-passwd given once now says the same, so these
  // stay accepted for old scripts without lengthening the help.
  for (const scope of ['master-', 'worker-'] as const) {
    for (const [setting, arg] of [
      ['user', '<user>'],
      ['port', '<port>'],
      ['passwd', '<password>'],
      ['pk-file', '<path>'],
      ['pk-password', '<passphrase>'],
    ] as const)
      cmd.addOption(new Option(`--default-${scope}${setting} ${arg}`).hideHelp());
  }
  return cmd;
}

/** Cluster-wide flags of create, each naming the cluster.yaml field it sets. */
export function addClusterFlags(cmd: Command): Command {
  for (const def of CLUSTER_FLAGS) {
    const option = new Option(
      `${def.flag}${def.arg ? ` ${def.arg}` : ''}`,
      `${def.help} [${def.field}]`,
    ).helpGroup(`${def.group}:`);
    if (def.choices) option.choices(def.choices);
    if (def.kind === 'list') option.argParser(collect);
    cmd.addOption(option);
  }
  // The old name read like an HTTP proxy; kept working, hidden from help.
  cmd.addOption(new Option('--proxy <mode>').choices(PROXY_MODES).hideHelp());
  return cmd;
}
