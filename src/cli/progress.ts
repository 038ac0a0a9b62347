import { jsonReporter, plainReporter, type Reporter, ttyReporter } from '../phases/progress.js';
import type { CommandContext } from './context.js';

/** `-o json`: events on stdout; a terminal: the live view on stderr; otherwise plain lines on stderr. */
export function reporterFor(ctx: CommandContext): Reporter {
  const write = (s: string) => ctx.streams.stderr.write(s);
  if (ctx.out.format === 'json') return jsonReporter((s) => ctx.streams.stdout.write(s));
  if (ctx.streams.stderr.isTTY) return ttyReporter(write, ctx.out.color);
  return plainReporter(write);
}
