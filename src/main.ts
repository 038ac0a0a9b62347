import { runCli } from './cli/run.js';

function main(): void {
  runCli(process.argv.slice(2), {
    env: process.env,
    streams: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`internal error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

main();
