import { Command } from 'commander';
import type { ContextFactory } from '../context.js';

export function explainCommand(makeCtx: ContextFactory): Command {
  return new Command('explain')
    .description('describe a cluster.yaml field (type, default, meaning) from the schema, offline')
    .argument('[field]', 'dotted path, e.g. controlPlane.mode, masters.port; none for the top level', '')
    .action(async (field: string, _opts: unknown, command: Command) => {
      const ctx = makeCtx(command);
      const { explainField } = await import('../../cluster/spec-doc.js');
      const doc = explainField(field);
      if (ctx.out.format !== 'table') {
        ctx.out.result(doc, [], []);
        return;
      }
      const lines = [`FIELD:   ${doc.path}`, `TYPE:    ${doc.type}`];
      if (doc.default) lines.push(`DEFAULT: ${doc.default}`);
      if (doc.description) lines.push('', doc.description);
      if (doc.fields.length) lines.push('', `FIELDS:  ${doc.fields.join(', ')}`);
      ctx.out.text(lines.join('\n'));
    });
}
