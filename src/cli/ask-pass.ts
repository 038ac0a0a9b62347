import { ASKED_PASSWORD_VAR } from '../cluster/from-flags.js';
import type { CommandContext } from './context.js';
import { askSecret } from './prompt.js';

export const ASK_PASS_HELP = `ask for the SSH password (no echo): the one passwordFrom: env:${ASKED_PASSWORD_VAR} reads`;

/**
 * --ask-pass: the password goes into this run's environment only, where `passwordFrom:
 * env:KUBEON_PASSWORD` finds it; no file and no argv ever holds it.
 */
export async function withAskedPassword(ctx: CommandContext): Promise<CommandContext> {
  const password = await askSecret(ctx, 'SSH password: ');
  return { ...ctx, env: { ...ctx.env, [ASKED_PASSWORD_VAR]: password } };
}
