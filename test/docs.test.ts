import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withReference } from '../scripts/gen-docs.js';
import { clusterJsonSchema } from '../src/cluster/spec.js';

const ROOT = join(import.meta.dirname, '..');

describe('generated docs', () => {
  it('README cluster.yaml reference matches the schema (run npm run docs)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(withReference(readme)).toBe(readme);
    expect(readme).toContain('| `controlPlane.port` | integer | `6443` |');
  });
  it('docs/cluster.schema.json matches the schema', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'docs/cluster.schema.json'), 'utf8'))).toEqual(
      clusterJsonSchema(),
    );
  });
  it('README starts with the two newcomer commands', () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
    expect(lines.slice(0, 6).join('\n')).toMatch(/npm run demo[\s\S]*npm test/);
  });
});
