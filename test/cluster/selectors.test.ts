import { describe, expect, it } from 'vitest';
import { clusterNodes } from '../../src/cluster/nodes.js';
import { parseSelector, parseTarget, selectNodes } from '../../src/cluster/selectors.js';
import { validateSpec } from '../../src/cluster/validate.js';
import type { KubeonError } from '../../src/core/errors.js';

const spec = validateSpec({
  name: 'prod',
  version: 'v1.31.2',
  masters: [
    { ip: '192.0.2.11', name: 'm1' },
    { ip: '192.0.2.12', name: 'm2' },
    { ip: '192.0.2.13', name: 'm3' },
  ],
  workers: [
    { ip: '192.0.2.21', name: 'w1' },
    { ip: '2001:db8::22', name: 'w2' },
  ],
}).spec;
const nodes = clusterNodes(spec);

function names(text: string): string[] {
  const t = parseTarget(text);
  return selectNodes(nodes, t.terms, t.selector).map((n) => n.name!);
}

describe('selectors', () => {
  it('all and bare cluster name', () => {
    expect(names('prod@all')).toEqual(['m1', 'm2', 'm3', 'w1', 'w2']);
    expect(names('prod')).toEqual(['m1', 'm2', 'm3', 'w1', 'w2']);
  });
  it('masters and its aliases', () => {
    for (const s of ['masters', 'cp*', 'cp', 'master'])
      expect(names(`prod@${s}`)).toEqual(['m1', 'm2', 'm3']);
  });
  it('workers and its aliases', () => {
    for (const s of ['workers', 'w*', 'w']) expect(names(`prod@${s}`)).toEqual(['w1', 'w2']);
  });
  it('first and cp1 pick the first master', () => {
    expect(names('prod@first')).toEqual(['m1']);
    expect(names('prod@cp1')).toEqual(['m1']);
  });
  it('name= and ip= lists, in cluster order without duplicates', () => {
    expect(names('prod@name=w1,m2')).toEqual(['m2', 'w1']);
    expect(names('prod@ip=192.0.2.13,2001:DB8::22')).toEqual(['m3', 'w2']);
    expect(names('prod@name=m1,first')).toEqual(['m1']);
  });
  it('comma lists mix keywords and key lists', () => {
    expect(names('prod@first,workers')).toEqual(['m1', 'w1', 'w2']);
    expect(names('prod@name=m2,m3,workers')).toEqual(['m2', 'm3', 'w1', 'w2']);
    expect(names('prod@ip=192.0.2.21,name=m3')).toEqual(['m3', 'w1']);
  });
  it('rejects unknown selector syntax with exit 2, naming it', () => {
    expect(() => parseSelector('role=x')).toThrow(/unknown selector key "role"/);
    expect(() => parseSelector('name=')).toThrow(/has no value/);
    expect(() => parseSelector('masters,,workers')).toThrow(/empty element/);
    expect(() => parseSelector('ip=10.0.0.300')).toThrow(/not an IP address/);
    expect(() => parseTarget('@masters')).toThrow(/names no cluster and no cluster is current/);
    expect(() => parseTarget('prod@')).toThrow(/empty selector/);
    expect(() => parseTarget('Prod@all')).toThrow(/DNS-1123/);
  });
  it('bare node names and addresses, cpN and wN counting from 1', () => {
    expect(names('prod@m2')).toEqual(['m2']);
    expect(names('prod@192.0.2.13,2001:db8::22')).toEqual(['m3', 'w2']);
    expect(names('prod@cp2,cp3')).toEqual(['m2', 'm3']);
    expect(names('prod@w2')).toEqual(['w2']);
    expect(names('prod@master3,worker1')).toEqual(['m3', 'w1']);
    expect(() => names('prod@w7')).toThrow(/"w7" in selector "w7": the cluster has 2 workers/);
    expect(() => names('prod@cp0')).toThrow(/counts from 1/);
  });
  it('a typo gets a did-you-mean from the keywords and node names', () => {
    let err: unknown;
    try {
      names('prod@wokers');
    } catch (e) {
      err = e;
    }
    expect((err as KubeonError).message).toContain('no node named "wokers"');
    expect((err as KubeonError).hint).toMatch(/^did you mean workers\?/);
    expect(() => names('prod@mm2')).toThrow(/no node named "mm2"/);
  });
  it('@SEL takes the current cluster; NAME@SEL wins over it', () => {
    expect(parseTarget('@w1', 'prod').cluster).toBe('prod');
    expect(parseTarget('dev@w1', 'prod').cluster).toBe('dev');
  });
  it('an empty result is an error naming the selector', () => {
    const single = clusterNodes(
      validateSpec({ name: 'one', version: 'v1.31.2', masters: [{ ip: '192.0.2.1' }] }).spec,
    );
    const t = parseTarget('one@workers');
    expect(() => selectNodes(single, t.terms, t.selector)).toThrow(/selector "workers" matches no node/);
  });
  it('unknown names or addresses are errors naming them', () => {
    expect(() => names('prod@name=m9')).toThrow(/no node named "m9"/);
    expect(() => names('prod@ip=192.0.2.99')).toThrow(/192\.0\.2\.99/);
  });
});
