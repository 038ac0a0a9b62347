import { describe, expect, it } from 'vitest';
import { renderTable, textWidth } from '../../src/cli/table.js';

const columns = ['A', 'LONGER', 'C'].map((header, i) => ({ header, value: (r: string[]) => r[i]! }));

describe('tables', () => {
  it('pads columns to their widest cell, three spaces apart, with no trailing blanks', () => {
    expect(renderTable([], columns)).toBe('A   LONGER   C');
    expect(renderTable([['x', '', 'z']], columns)).toBe('A   LONGER   C\nx            z');
    expect(renderTable([['', '', '']], columns)).toBe('A   LONGER   C\n');
  });

  it('spreads a cell over lines and counts the columns a terminal shows', () => {
    expect(
      renderTable(
        [
          ['multi\nline', 'b', 'c'],
          ['\u001b[31mred\u001b[39m', 'wide漢字', 'e😀x'],
        ],
        columns,
      ),
    ).toBe('A       LONGER     C\nmulti   b          c\nline\n\u001b[31mred\u001b[39m     wide漢字   e😀x');
    expect([textWidth('a\tb'), textWidth('e\u0301'), textWidth('ｶﾞ'), textWidth('ＡＢ')]).toEqual([
      2, 1, 2, 4,
    ]);
  });
});
