import { stripVTControlCharacters } from 'node:util';

/**
 * Tables as kubeon prints them: a header row, columns three spaces apart, no borders, no trailing
 * blanks; a cell may span lines. Done here rather than with a table library, whose load and first
 * render (Unicode width tables, an emoji regex) cost more than `kubeon list` may take in all.
 */
export interface Column<T> {
  header: string;
  value(row: T): string;
}

// East Asian wide and fullwidth ranges (Unicode's EastAsianWidth W and F), and emoji shown as
// pictures: two columns on a terminal.
const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uA960-\uA97F\uAC00-\uD7A3\uF900-\uFAFF\uFE10-\uFE19\uFE30-\uFE6F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1F64F}\u{1F900}-\u{1F9FF}\u{20000}-\u{3FFFD}]|\p{Emoji_Presentation}/u;
// Control and format characters (zero-width spaces, joiners) and combining marks take no column.
const ZERO = /[\p{Cc}\p{Cf}\p{Mn}\p{Me}]/u;

/** The columns `text` takes on a terminal; colour codes take none. */
export function textWidth(text: string): number {
  let width = 0;
  for (const ch of stripVTControlCharacters(text)) {
    if (ch.charCodeAt(0) < 0x7f && ch >= ' ') width++;
    else if (!ZERO.test(ch)) width += WIDE.test(ch) ? 2 : 1;
  }
  return width;
}

export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => c.value(r)))];
  const lines = cells.map((row) => row.map((cell) => cell.split('\n')));
  const widths = columns.map((_, i) => Math.max(...lines.flatMap((row) => row[i]!.map(textWidth))));
  return lines
    .flatMap((row) =>
      Array.from({ length: Math.max(...row.map((cell) => cell.length)) }, (_, k) =>
        row
          .map((cell, i) => {
            const text = cell[k] ?? '';
            return text + ' '.repeat(widths[i]! - textWidth(text));
          })
          .join('   ')
          .trimEnd(),
      ),
    )
    .join('\n');
}
