/** How the report writes ages, durations and times: binary units, UTC, short and unambiguous. */

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** The binary unit a byte count reads best in, and its divisor (1024^n): a chart axis's unit. */
export function binaryUnitOf(bytes: number): { unit: (typeof BINARY_UNITS)[number]; divisor: number } {
  let i = 0;
  while (i < BINARY_UNITS.length - 1 && Math.abs(bytes) >= 1024 ** (i + 1)) i++;
  return { unit: BINARY_UNITS[i]!, divisor: 1024 ** i };
}

/** An age or a span, to the two largest units: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. Negative is 0. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** A measured duration in seconds: `0.8 s`, `14 s`, `2 min 5 s`. */
export function secondsText(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

/** `2026-11-28 14:03 UTC`; the input unchanged when it is not a date. */
export function utcText(iso: string | Date, { seconds = false } = {}): string {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d
    .toISOString()
    .slice(0, seconds ? 19 : 16)
    .replace('T', ' ')} UTC`;
}

/** `2026-11-28`. */
export function utcDay(iso: string | Date): string {
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(0, 10);
}
