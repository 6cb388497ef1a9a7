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

/** Bytes as MiB with one decimal, as the tables show sizes. */
export const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;
