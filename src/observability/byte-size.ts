/**
 * Sizes as people read them in text output: binary units that fit the number, one decimal
 * (`512 B`, `15.7 KiB`, `256.7 MiB`, `1.0 GiB`). JSON output keeps exact bytes.
 */
const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = -1;
  // Move up while the number would print as 1024.0 or more in this unit.
  while (unit < UNITS.length - 1 && value >= 1023.95) {
    value /= 1024;
    unit++;
  }
  return `${sign}${value.toFixed(1)} ${UNITS[unit]}`;
}
