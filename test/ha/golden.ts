import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

/** Compares with test/ha/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
export function expectGolden(name: string, text: string): void {
  const path = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
  if (!existsSync(path))
    throw new Error(`golden file ${path.pathname} is missing; run with UPDATE_GOLDEN=1 once`);
  expect(text).toBe(readFileSync(path, 'utf8'));
}
