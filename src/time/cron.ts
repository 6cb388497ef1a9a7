/**
 * The one cron dialect of vault-ops, always in UTC: rotation policies (`secrets[].schedule`) and
 * job files (`job.schedule`, which the daemon fires and `daemon --check` lists) accept the same
 * expressions through this parser, and mean the same instants by them.
 *
 * 5 fields (minute hour day-of-month month day-of-week), or 6 with a seconds field first (for
 * quick daemon jobs; Kubernetes CronJobs take 5, which the chart checks). Supported: `*`, numbers,
 * ranges `a-b`, steps `*\/n` and `a-b/n` (and `a/n`, meaning a to the field's maximum), lists
 * `a,b-c`, month names `jan`…`dec`, weekday names `sun`…`sat` (0 and 7 are both Sunday), and the
 * macros `@hourly @daily @midnight @weekly @monthly @yearly @annually`. As in Vixie cron and
 * Kubernetes CronJobs, when both day-of-month and day-of-week are restricted (neither is `*`), a
 * day matches when EITHER matches. Not supported (rejected, not guessed at): `?`, `L`, `W`, `#`,
 * full names, ranges that wrap around, `@reboot`.
 *
 * Pure: `parseCron` throws a plain `CronError` naming the bad field; `nextCronRun` computes
 * from a given instant (no clock inside).
 */

export class CronError extends Error {
  override readonly name = 'CronError';
  /**
   * `shape`: not a cron expression at all (field count, unknown macro); `field`: one field is
   * wrong (named in the message); `never`: valid fields that never fire (30 February).
   */
  constructor(
    message: string,
    readonly kind: 'shape' | 'field' | 'never' = 'field',
  ) {
    super(message);
  }
}

export interface CronSchedule {
  readonly source: string;
  /** {0} for a 5-field expression. */
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>; // 1..12
  readonly daysOfWeek: ReadonlySet<number>; // 0..6, 0 = Sunday
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  namesStart?: number;
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
    namesStart: 1,
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], namesStart: 0 },
];

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

function parseValue(text: string, spec: FieldSpec): number {
  const lower = text.toLowerCase();
  if (spec.names) {
    const index = spec.names.indexOf(lower);
    if (index !== -1) return index + (spec.namesStart ?? 0);
  }
  if (!/^\d+$/.test(text))
    throw new CronError(`${spec.name}: "${text}" is not a number${spec.names ? ' or name' : ''}`);
  const value = Number(text);
  if (value < spec.min || value > spec.max)
    throw new CronError(`${spec.name}: ${value} is outside ${spec.min}-${spec.max}`);
  return value;
}

function parseField(text: string, spec: FieldSpec): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  if (text === '') throw new CronError(`${spec.name}: empty`);
  for (const part of text.split(',')) {
    const [rangePart, stepPart, ...extra] = part.split('/');
    if (extra.length > 0 || rangePart === undefined || rangePart === '')
      throw new CronError(`${spec.name}: "${part}" is not valid`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1)
        throw new CronError(`${spec.name}: step "${stepPart}" must be a positive integer`);
      step = Number(stepPart);
    }
    let low: number;
    let high: number;
    if (rangePart === '*') {
      low = spec.min;
      high = spec.max;
    } else if (rangePart.includes('-')) {
      const [a, b, ...more] = rangePart.split('-');
      if (more.length > 0 || a === undefined || b === undefined)
        throw new CronError(`${spec.name}: "${rangePart}" is not a range`);
      low = parseValue(a, spec);
      high = parseValue(b, spec);
      if (low > high) throw new CronError(`${spec.name}: range "${rangePart}" runs backwards`);
    } else {
      low = parseValue(rangePart, spec);
      high = stepPart !== undefined ? spec.max : low;
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return { values, restricted: text !== '*' };
}

export function parseCron(expression: string): CronSchedule {
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  if (expanded.startsWith('@')) throw new CronError(`unknown macro "${source}"`, 'shape');
  const all = expanded.split(/\s+/);
  if (all.length !== 5 && all.length !== 6) {
    throw new CronError(
      `expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, got ${all.length}`,
      'shape',
    );
  }
  const seconds = all.length === 6 ? parseField(all[0]!, SECOND).values : new Set([0]);
  const parts = all.slice(all.length - 5);
  const [m, h, dom, mon, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  const daysOfWeek = new Set([...dow.values].map((d) => d % 7));
  const schedule: CronSchedule = {
    source,
    seconds,
    minutes: m.values,
    hours: h.values,
    daysOfMonth: dom.values,
    months: mon.values,
    daysOfWeek,
    domRestricted: dom.restricted,
    dowRestricted: dow.restricted,
  };
  // Reject expressions that can never fire (e.g. 30 February).
  nextCronRun(schedule, new Date(Date.UTC(2000, 0, 1)));
  return schedule;
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const domOk = s.daysOfMonth.has(d.getUTCDate());
  const dowOk = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

const SECOND_MS = 1_000;
const MINUTE = 60_000;
/** Eight years covers every leap-year combination; a schedule with no run in that span never runs. */
const HORIZON_MS = 8 * 366 * 24 * 60 * MINUTE;

/** The first value of `values` at or after `from`, if any. */
function firstFrom(values: ReadonlySet<number>, from: number): number | undefined {
  let best: number | undefined;
  for (const v of values) if (v >= from && (best === undefined || v < best)) best = v;
  return best;
}

/** The first run strictly after `after` (to the second). Throws CronError if it never fires. */
export function nextCronRun(s: CronSchedule, after: Date): Date {
  const t = new Date(Math.floor(after.getTime() / SECOND_MS) * SECOND_MS + SECOND_MS);
  const limit = after.getTime() + HORIZON_MS;
  while (t.getTime() <= limit) {
    if (!s.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    const second = firstFrom(s.seconds, t.getUTCSeconds());
    if (second === undefined) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    t.setUTCSeconds(second, 0);
    return t;
  }
  throw new CronError(`"${s.source}" never fires`, 'never');
}

/** The next `count` runs strictly after `after`. */
export function nextCronRuns(s: CronSchedule, after: Date, count: number): Date[] {
  const runs: Date[] = [];
  let cursor = after;
  for (let i = 0; i < count; i++) {
    cursor = nextCronRun(s, cursor);
    runs.push(cursor);
  }
  return runs;
}
