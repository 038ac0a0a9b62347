import { fastPath } from './cli/fast-path.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // Node makes each of its standard streams on first use, stdin at a cost of its own: getters leave
  // them unmade for the commands that never touch them (most never read stdin).
  const io = {
    env: process.env,
    streams: {
      get stdout() {
        return process.stdout;
      },
      get stderr() {
        return process.stderr;
      },
      get stdin() {
        return process.stdin;
      },
    },
  };
  // Help, version, list and use start without the command tree; everything else loads it.
  const quick = await fastPath(argv, io);
  if (quick !== undefined) return quick;
  const { runCli } = await import('./cli/run.js');
  return runCli(argv, io);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`internal error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
