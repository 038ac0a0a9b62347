import pc from 'picocolors';
import { type Column, renderTable } from './table.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

/**
 * Everything a command prints goes through here: results to stdout in the chosen format, messages
 * to stderr (so `-o json` output stays parseable), colour only on a TTY and never with NO_COLOR.
 */
export interface Output {
  format: OutputFormat;
  verbose: number;
  color: boolean;
  info(msg: string): void;
  warn(msg: string): void;
  detail(msg: string): void;
  /** Prints a result: JSON/YAML as given, or the table made by `columns` from `rows`. */
  result<T>(data: unknown, rows: T[], columns: Column<T>[]): void;
  /** Prints plain text on stdout (for table format only; JSON/YAML callers use result). */
  text(msg: string): void;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

// The YAML serializer is loaded only for `-o yaml` (see prepareOutput): every other start goes without it.
let yaml: { stringify(value: unknown): string } | undefined;

/** Loads what `format` needs before a command runs, so that `result` can stay synchronous. */
export async function prepareOutput(format: string | undefined): Promise<void> {
  if (format === 'yaml') yaml ??= (await import('yaml')).default;
}

/** Colour only on a terminal, never with NO_COLOR (no-color.org) or TERM=dumb. */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

export function createOutput(
  format: OutputFormat,
  verbose: number,
  streams: Streams,
  env: NodeJS.ProcessEnv,
): Output {
  const color = colorWanted(streams.stderr, env);
  const paint = pc.createColors(color);
  return {
    format,
    verbose,
    color,
    info: (msg) => streams.stderr.write(`${msg}\n`),
    warn: (msg) => streams.stderr.write(`${paint.yellow('warning:')} ${msg}\n`),
    detail: (msg) => {
      if (verbose > 0) streams.stderr.write(`${paint.dim(msg)}\n`);
    },
    text: (msg) => streams.stdout.write(`${msg}\n`),
    result(data, rows, columns) {
      if (format === 'json') streams.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else if (format === 'yaml') {
        if (!yaml) throw new Error('-o yaml: prepareOutput was not awaited before the command ran');
        streams.stdout.write(yaml.stringify(data));
      } else streams.stdout.write(`${renderTable(rows, columns)}\n`);
    },
  };
}
