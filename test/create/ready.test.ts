import { describe, expect, it } from 'vitest';
import { readyNodes } from '../../src/phases/create/cluster.js';

describe('readyNodes', () => {
  it("reads Ready nodes from kubectl's table, cordoned ones included", () => {
    const table = [
      'NAME   STATUS                     ROLES           AGE   VERSION',
      'm1     Ready                      control-plane   5m    v1.31.14',
      'w1     NotReady                   worker          1m    v1.31.14',
      'w2     Ready,SchedulingDisabled   worker          1m    v1.31.14',
      '',
    ].join('\n');
    expect([...readyNodes(table)]).toEqual(['m1', 'w2']);
  });
});
