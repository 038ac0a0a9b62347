import { Command, CommanderError, Option } from 'commander';
import { KUBEON_VERSION } from '../core/version.js';
import { addCommand } from './commands/add.js';
import { certsCommand } from './commands/certs.js';
import { configCommand } from './commands/config.js';
import { cpCommand } from './commands/cp.js';
import { createCommand } from './commands/create.js';
import { delCommand } from './commands/del.js';
import { destroyCommand } from './commands/destroy.js';
import { downloadCommand } from './commands/download.js';
import { etcdCommand } from './commands/etcd.js';
import { execCommand } from './commands/exec.js';
import { explainCommand } from './commands/explain.js';
import { forgetCommand } from './commands/forget.js';
import { infoCommand } from './commands/info.js';
import { listCommand } from './commands/list.js';
import { upgradeCommand } from './commands/upgrade.js';
import { useCommand } from './commands/use.js';
import { versionCommand } from './commands/version.js';
import { viewCommand } from './commands/view.js';
import type { ContextFactory, GlobalOptions } from './context.js';
import { SHELLS, type Shell } from './shells.js';

function increase(_v: string, previous: number): number {
  return previous + 1;
}

/** The whole command tree. `makeCtx` turns the parsed global options into a command context. */
export function buildProgram(
  makeCtx: (globals: GlobalOptions) => ReturnType<ContextFactory>,
  output: { writeOut(s: string): void; writeErr(s: string): void },
): Command {
  const program = new Command('kubeon')
    .description('Install and operate highly available Kubernetes clusters with kubeadm, over SSH.')
    .version(KUBEON_VERSION, '--version', 'print the kubeon version')
    .option('--home <dir>', 'kubeon state directory (default $KUBEON_HOME or ~/.kubeon)')
    .option('-v, --verbose', 'more output (repeat for more)', increase, 0)
    .option('--debug', 'show stack traces on errors')
    .addOption(
      new Option('-o, --output <format>', 'result format where a command reports').choices([
        'table',
        'json',
        'yaml',
      ]),
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .showSuggestionAfterError(true)
    .exitOverride();

  const factory: ContextFactory = (cmd) => makeCtx(cmd.optsWithGlobals<GlobalOptions>());
  const commands = [
    createCommand(factory),
    destroyCommand(factory),
    forgetCommand(factory),
    addCommand(factory),
    delCommand(factory),
    upgradeCommand(factory),
    useCommand(factory),
    listCommand(factory),
    execCommand(factory),
    cpCommand(factory),
    infoCommand(factory),
    etcdCommand(factory),
    certsCommand(factory),
    viewCommand(factory),
    configCommand(factory),
    explainCommand(factory),
    downloadCommand(factory),
    versionCommand(factory),
  ];
  const groups: Record<string, string> = {
    create: 'Clusters:',
    destroy: 'Clusters:',
    forget: 'Clusters:',
    add: 'Clusters:',
    del: 'Clusters:',
    upgrade: 'Clusters:',
    use: 'Clusters:',
    list: 'Clusters:',
    exec: 'Nodes:',
    cp: 'Nodes:',
    info: 'Nodes:',
    etcd: 'Nodes:',
    certs: 'Nodes:',
    view: 'Specs, versions and artifacts:',
    config: 'Specs, versions and artifacts:',
    explain: 'Specs, versions and artifacts:',
    download: 'Specs, versions and artifacts:',
  };
  for (const c of commands) program.addCommand(c.helpGroup(groups[c.name()] ?? 'Other:'));
  program.commandsGroup('Other:').helpCommand(true);
  program
    .command('completion')
    .description(
      'print a shell completion script: source <(kubeon completion bash), or zsh; kubeon completion fish | source',
    )
    .addArgument(new Command().createArgument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action(async (shell: Shell) => {
      // The completions name every catalogued version, which --help and list need not load.
      const { completionScript } = await import('./completion.js');
      output.writeOut(completionScript(program, shell));
    });
  // Every command throws instead of exiting, so runCli owns exit codes and error formatting; and all
  // of them print through the caller's streams (addCommand does not pass these settings down).
  const configure = (c: Command) => {
    c.exitOverride();
    c.configureOutput(output);
    // One width on every terminal, so the help rendered at build time (help-render.ts) is exactly
    // what commander would print.
    c.configureHelp({ ...c.configureHelp(), helpWidth: 80 });
    for (const sub of c.commands) configure(sub);
  };
  configure(program);
  return program;
}

export { CommanderError };
