/** runc stand-in: answers --version; the lab never runs a container, so every other command fails. */
import { CallLog } from '../lib/calllog.js';
import { builtVersionText } from '../lib/versions.js';

const VERSION = builtVersionText().replace(/^v/, '');
const argv = process.argv.slice(2);
new CallLog('runc', VERSION).write('call', { argv });
if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
  process.stdout.write(
    `runc version ${VERSION}\ncommit: standin\nspec: 1.2.0\ngo: go1.23\nlibseccomp: 2.5.4\n`,
  );
  process.exit(0);
}
process.stderr.write(
  `runc: stand-in: "${argv.join(' ')}" would run a container, which the lab does not do\n`,
);
process.exit(1);
