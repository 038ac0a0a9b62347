import { describe, expect, it } from 'vitest';
import { SshAuthSchema } from '../../src/cluster/spec.js';
import { SSH_SETTINGS } from '../../src/cluster/spec-names.js';

describe('spec names kept apart from the schema', () => {
  it('SSH_SETTINGS lists the SSH schema fields, in order', () => {
    expect([...SSH_SETTINGS]).toEqual(Object.keys(SshAuthSchema.shape));
  });
});
