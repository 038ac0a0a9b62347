import { KUBEON_VERSION } from '../../core/version.js';
import type { CommandContext } from '../context.js';

/** `kubeon version`, run by the command tree (commands/version.ts) and by the fast path alike. */
export function printVersion(ctx: CommandContext): void {
  const info = {
    kubeon: KUBEON_VERSION,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
  if (ctx.out.format === 'table') ctx.out.text(`kubeon ${info.kubeon} (node ${info.node}, ${info.platform})`);
  else ctx.out.result(info, [], []);
}
