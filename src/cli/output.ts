/** Results go to stdout: JSON (stable, documented shapes) or text for people. */
export function printJson(stdout: NodeJS.WritableStream, value: unknown): void {
  stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(stdout: NodeJS.WritableStream, lines: string[]): void {
  stdout.write(`${lines.map((line) => escapeControl(line, { keepNewlines: true })).join('\n')}\n`);
}

/**
 * Control characters (C0, DEL, C1), Unicode line separators and bidirectional overrides as `\u{…}`:
 * text printed to a terminal carries strings read from a store or from Vault (a manifest's cluster
 * name, a mount path), and an escape sequence or carriage return in one could redraw what the operator
 * reads. Newlines stay where the caller asks (a line of several lines we wrote).
 */
export function escapeControl(text: string, options: { keepNewlines?: boolean } = {}): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === '\n' && options.keepNewlines ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}

/** Left-aligned columns for text tables; every cell is one line (control characters escaped). */
export function table(rawRows: string[][], indent = ''): string[] {
  const widths = columnWidths(rawRows);
  return rawRows.map((row) => tableRow(row, widths, indent));
}

/** The widths `table` pads each column to (the last column of a row is never padded). */
export function columnWidths(rawRows: string[][]): number[] {
  const widths: number[] = [];
  for (const row of rawRows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, escapeControl(cell).length);
    });
  }
  return widths;
}

/** One row of a table whose column widths are known before its rows are (rows printed as they come). */
export function tableRow(rawRow: string[], widths: readonly number[], indent = ''): string {
  const row = rawRow.map((cell) => escapeControl(cell));
  return (
    indent +
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  );
}

/** Sizes in binary units that fit the number, as text output shows them (JSON keeps bytes). */
export { formatBytes } from '../observability/byte-size.js';
