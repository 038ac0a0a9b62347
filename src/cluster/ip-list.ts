import { badInput } from '../core/errors.js';
import { fromBigInt, ipFamily, ipToBigInt } from './net.js';

/** A range longer than this is almost certainly a typo (10.0.0.1-10.0.9.1), not a cluster. */
export const MAX_RANGE = 4096;

/**
 * Expands `-m` values as sealos accepts them: repeated flags, comma lists and inclusive ranges
 * `FIRST-LAST` of one family. Runs before any contact, so a bad range never reaches a node.
 */
export function expandAddresses(values: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const item of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    if (item === '') throw badInput(`empty address in ${flag}`, `write ${flag} 192.0.2.1,192.0.2.2`);
    const dash = item.indexOf('-');
    if (dash < 0) {
      out.push(item);
      continue;
    }
    const first = item.slice(0, dash);
    const last = item.slice(dash + 1);
    const family = ipFamily(first);
    if (family === 0 || ipFamily(last) !== family)
      throw badInput(
        `${flag} "${item}" is not a range of two addresses of one family`,
        `write ${flag} 192.0.2.11-192.0.2.40`,
      );
    const lo = ipToBigInt(first);
    const hi = ipToBigInt(last);
    if (hi < lo)
      throw badInput(
        `${flag} "${item}" ends before it starts`,
        `write the lower address first: ${last}-${first}`,
      );
    if (hi - lo + 1n > BigInt(MAX_RANGE))
      throw badInput(
        `${flag} "${item}" spans ${hi - lo + 1n} addresses (at most ${MAX_RANGE})`,
        'check the range, or split it',
      );
    for (let v = lo; v <= hi; v++) out.push(fromBigInt(v, family));
  }
  return out;
}
