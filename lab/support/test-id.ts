/**
 * The lab id a test file uses. KUBEON_LAB_ID_SUFFIX lets two checkouts of this repository run the
 * same lab test side by side on one machine without sharing (and tearing down) each other's lab.
 */
export function testLabId(base: string): string {
  const suffix = process.env.KUBEON_LAB_ID_SUFFIX;
  return suffix ? `${base}-${suffix}` : base;
}
