/**
 * A CNI plugin stand-in that follows the CNI protocol honestly: VERSION is answered, every
 * operation that would touch a pod network returns a CNI error, since the lab runs no pods.
 */
import { CallLog } from '../lib/calllog.js';
import { builtVersionText } from '../lib/versions.js';

declare const __STANDIN_COMPONENT__: string;
const VERSION = builtVersionText();
const command = process.env.CNI_COMMAND ?? '';
new CallLog(__STANDIN_COMPONENT__, VERSION).write('call', {
  argv: process.argv.slice(2),
  cniCommand: command,
});
if (command === 'VERSION') {
  process.stdout.write(
    `${JSON.stringify({ cniVersion: '1.0.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })}\n`,
  );
  process.exit(0);
}
if (!command) {
  process.stderr.write(
    `CNI ${__STANDIN_COMPONENT__} plugin ${VERSION}\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify({ cniVersion: '1.0.0', code: 999, msg: `stand-in ${__STANDIN_COMPONENT__}: the lab runs no pod networks (${command})` })}\n`,
);
process.exit(1);
