/** containerd's shims and stress tool: shipped in the tarball, never run by the lab beyond -v. */
import { CallLog } from '../lib/calllog.js';
import { builtVersionText } from '../lib/versions.js';

declare const __STANDIN_COMPONENT__: string;
const VERSION = builtVersionText().replace(/^v/, '');
const argv = process.argv.slice(2);
new CallLog(__STANDIN_COMPONENT__, VERSION).write('call', { argv });
if (argv[0] === '-v' || argv[0] === '--version' || argv[0] === '-version') {
  process.stdout.write(
    `${__STANDIN_COMPONENT__}:\n  Version:  v${VERSION}\n  Revision: standin\n  Go version: go1.23\n`,
  );
  process.exit(0);
}
process.stderr.write(`${__STANDIN_COMPONENT__}: stand-in: the lab runs no containers\n`);
process.exit(1);
