/** Results go to stdout: JSON (stable, documented shapes) or text for people. */
export function printJson(stdout: NodeJS.WritableStream, value: unknown): void {
  stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(stdout: NodeJS.WritableStream, lines: string[]): void {
  stdout.write(`${lines.join('\n')}\n`);
}

/** Left-aligned columns for text tables. */
export function table(rows: string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
  );
}

/** Sizes in binary units that fit the number, as text output shows them (JSON keeps bytes). */
export { formatBytes } from '../observability/byte-size.js';
