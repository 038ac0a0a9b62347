import { describe, expect, it } from 'vitest';
import { shq } from '../src/core/quote.js';

describe('shq', () => {
  it('quotes', () => {
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });
});
