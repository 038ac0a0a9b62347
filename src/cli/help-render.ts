import type { Command } from 'commander';
import { buildProgram } from './program.js';

/**
 * What `--help` prints for every command path ('' for kubeon itself; aliases too), captured from
 * commander's own output, extra help text included. scripts/build.mjs stores these in the bundle
 * (help-pages.ts) so the fast path prints help without loading the command tree.
 */
export function renderHelpPages(): Record<string, string> {
  let text = '';
  const capture = (s: string) => {
    text += s;
  };
  const program = buildProgram(
    () => {
      throw new Error('rendering help runs no command');
    },
    { writeOut: capture, writeErr: capture },
  );
  const pages: Record<string, string> = {};
  const visit = (cmd: Command, path: string[]) => {
    text = '';
    cmd.outputHelp();
    pages[path.join(' ')] = text;
    for (const sub of cmd.commands)
      for (const name of [sub.name(), ...sub.aliases()]) visit(sub, [...path, name]);
  };
  visit(program, []);
  return pages;
}
