/**
 * The one quoting helper for anything interpolated into a shell script or remote command line.
 * Single quotes stop every expansion; an embedded single quote is closed, escaped and reopened.
 */
export function shq(value: string | number): string {
  const s = String(value);
  if (s !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shqArgs(args: readonly (string | number)[]): string {
  return args.map(shq).join(' ');
}
