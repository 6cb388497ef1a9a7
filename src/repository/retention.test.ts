import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../errors.js';
import { bucketOf, isoWeek, planRetention, type RetentionInput, type RetentionPolicy } from './retention.js';
import { mulberry32 } from '../../test/helpers/prng.js';

const isUsage = (e: unknown): boolean => e instanceof VaultOpsError && e.code === 'usage';

/** A snapshot whose id is its ISO time, so expectations read as times. */
function snap(iso: string): RetentionInput {
  const time = new Date(iso);
  assert.ok(Number.isFinite(time.getTime()), `bad test time ${iso}`);
  return { id: time.toISOString(), time };
}

function hourlySeries(fromIso: string, toIso: string): RetentionInput[] {
  const out: RetentionInput[] = [];
  for (let t = Date.parse(fromIso); t <= Date.parse(toIso); t += 3_600_000) {
    out.push(snap(new Date(t).toISOString()));
  }
  return out;
}

function keptIds(snapshots: RetentionInput[], policy: RetentionPolicy): string[] {
  return planRetention(snapshots, policy).keep.map((k) => k.id);
}

describe('isoWeek', () => {
  for (const [iso, year, week] of [
    ['2026-12-28T00:00:00Z', 2026, 53], // Monday
    ['2026-12-31T23:59:59Z', 2026, 53], // Thursday: 2026 has 53 ISO weeks
    ['2027-01-01T00:00:00Z', 2026, 53], // Friday belongs to the previous ISO year
    ['2027-01-03T23:59:59Z', 2026, 53], // Sunday
    ['2027-01-04T00:00:00Z', 2027, 1], // Monday
    ['2025-12-29T00:00:00Z', 2026, 1], // Monday before 1 January 2026 (a Thursday)
    ['2025-12-28T23:59:59Z', 2025, 52], // Sunday
    ['2024-12-30T00:00:00Z', 2025, 1],
    ['2021-01-03T12:00:00Z', 2020, 53],
    ['2021-01-04T12:00:00Z', 2021, 1],
    ['2008-12-29T00:00:00Z', 2009, 1],
    ['2010-01-03T00:00:00Z', 2009, 53],
    ['2026-06-15T00:00:00Z', 2026, 25],
  ] as const) {
    it(`${iso} is ${year}-W${week}`, () => {
      assert.deepEqual(isoWeek(new Date(iso)), { year, week });
    });
  }

  it('agrees with a day-by-day count over 30 years', () => {
    // Walk days from a known Monday of week 1 and count weeks independently.
    let day = Date.parse('1999-01-04T00:00:00Z'); // Monday of 1999-W01
    let year = 1999;
    let week = 1;
    const end = Date.parse('2030-01-01T00:00:00Z');
    while (day < end) {
      const d = new Date(day);
      if (d.getUTCDay() === 1 && day !== Date.parse('1999-01-04T00:00:00Z')) {
        // A new week starts; it is week 1 of year+1 when its Thursday is in January.
        const thursday = new Date(day + 3 * 86_400_000);
        if (thursday.getUTCMonth() === 0 && thursday.getUTCDate() <= 7) {
          year = thursday.getUTCFullYear();
          week = 1;
        } else {
          week++;
        }
      }
      assert.deepEqual(isoWeek(new Date(day + 13 * 3_600_000)), { year, week }, d.toISOString());
      day += 86_400_000;
    }
  });
});

describe('planRetention: policy validation', () => {
  const one = [snap('2026-01-01T00:00:00Z')];
  for (const policy of [
    {},
    { keepLast: 0 },
    { keepLast: 0, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 },
  ] as RetentionPolicy[]) {
    it(`refuses a policy that keeps nothing: ${JSON.stringify(policy)}`, () => {
      assert.throws(() => planRetention(one, policy), isUsage);
      assert.throws(() => planRetention([], policy), isUsage);
    });
  }

  for (const policy of [
    { keepLast: -1 },
    { keepDaily: 1.5 },
    { keepWeekly: Number.NaN },
    { keepMonthly: Number.POSITIVE_INFINITY },
    { keepYearly: '3' as unknown as number },
    { keepLast: 3, keepHourly: -2 },
  ] as RetentionPolicy[]) {
    it(`rejects ${JSON.stringify(policy)}`, () => {
      assert.throws(() => planRetention(one, policy), isUsage);
    });
  }

  it('rejects snapshots with an invalid time', () => {
    assert.throws(() => planRetention([{ id: 'x', time: new Date(Number.NaN) }], { keepLast: 1 }), isUsage);
  });
});

describe('planRetention: table tests', () => {
  it('plans nothing for no snapshots', () => {
    assert.deepEqual(planRetention([], { keepLast: 3 }), { keep: [], remove: [] });
  });

  it('hourly snapshots over 3 months: keep-last 3, keep-daily 7, keep-weekly 4, keep-monthly 6', () => {
    const series = hourlySeries('2026-01-01T00:00:00Z', '2026-03-31T23:00:00Z');
    assert.equal(series.length, 90 * 24);
    // Shuffle to show input order does not matter.
    const rnd = mulberry32(7);
    const shuffled = [...series].sort(() => rnd() - 0.5);
    const plan = planRetention(shuffled, { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
    // 2026-03-31 is a Tuesday; its ISO week starts on Monday 2026-03-30.
    assert.deepEqual(
      plan.keep.map((k) => [k.id, k.reasons]),
      [
        ['2026-03-31T23:00:00.000Z', ['last', 'daily', 'weekly', 'monthly']],
        ['2026-03-31T22:00:00.000Z', ['last']],
        ['2026-03-31T21:00:00.000Z', ['last']],
        ['2026-03-30T23:00:00.000Z', ['daily']],
        ['2026-03-29T23:00:00.000Z', ['daily', 'weekly']], // Sunday: previous ISO week
        ['2026-03-28T23:00:00.000Z', ['daily']],
        ['2026-03-27T23:00:00.000Z', ['daily']],
        ['2026-03-26T23:00:00.000Z', ['daily']],
        ['2026-03-25T23:00:00.000Z', ['daily']],
        ['2026-03-22T23:00:00.000Z', ['weekly']],
        ['2026-03-15T23:00:00.000Z', ['weekly']],
        ['2026-02-28T23:00:00.000Z', ['monthly']],
        ['2026-01-31T23:00:00.000Z', ['monthly']],
      ],
    );
    assert.equal(plan.remove.length, series.length - 13);
    // Both lists are newest first.
    for (const list of [plan.keep, plan.remove]) {
      for (let i = 1; i < list.length; i++) {
        assert.ok(list[i - 1]!.time.getTime() >= list[i]!.time.getTime());
      }
    }
    assert.equal(plan.remove[0]!.id, '2026-03-31T20:00:00.000Z');
    assert.equal(plan.remove.at(-1)!.id, '2026-01-01T00:00:00.000Z');
  });

  it('keep-hourly keeps the newest of each hour', () => {
    const series = [
      snap('2026-05-01T10:59:59Z'),
      snap('2026-05-01T10:00:00Z'),
      snap('2026-05-01T09:30:00Z'),
      snap('2026-05-01T09:10:00Z'),
      snap('2026-05-01T07:00:00Z'),
      snap('2026-04-30T23:59:00Z'),
    ];
    assert.deepEqual(keptIds(series, { keepHourly: 3 }), [
      '2026-05-01T10:59:59.000Z',
      '2026-05-01T09:30:00.000Z',
      '2026-05-01T07:00:00.000Z',
    ]);
    assert.deepEqual(keptIds(series, { keepHourly: 10 }), [
      '2026-05-01T10:59:59.000Z',
      '2026-05-01T09:30:00.000Z',
      '2026-05-01T07:00:00.000Z',
      '2026-04-30T23:59:00.000Z',
    ]);
  });

  it('keep-yearly and keep-monthly over several years', () => {
    const series = [
      snap('2028-02-10T00:00:00Z'),
      snap('2028-01-05T00:00:00Z'),
      snap('2027-12-31T23:59:59Z'),
      snap('2027-06-01T00:00:00Z'),
      snap('2026-03-01T00:00:00Z'),
      snap('2024-01-01T00:00:00Z'),
    ];
    const plan = planRetention(series, { keepYearly: 3, keepMonthly: 2 });
    assert.deepEqual(
      plan.keep.map((k) => [k.id, k.reasons]),
      [
        ['2028-02-10T00:00:00.000Z', ['monthly', 'yearly']],
        ['2028-01-05T00:00:00.000Z', ['monthly']],
        ['2027-12-31T23:59:59.000Z', ['yearly']],
        ['2026-03-01T00:00:00.000Z', ['yearly']],
      ],
    );
    assert.deepEqual(
      plan.remove.map((r) => r.id),
      ['2027-06-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
    );
  });

  it('weekly buckets follow ISO weeks across the new year', () => {
    // Daily at noon from Sunday 2026-12-27 (2026-W52) to Tuesday 2027-01-05 (2027-W01).
    const series: RetentionInput[] = [];
    for (let d = Date.parse('2026-12-27T12:00:00Z'); d <= Date.parse('2027-01-05T12:00:00Z'); d += 86_400_000) {
      series.push(snap(new Date(d).toISOString()));
    }
    const plan = planRetention(series, { keepWeekly: 5, keepYearly: 5 });
    assert.deepEqual(
      plan.keep.map((k) => [k.id, k.reasons]),
      [
        ['2027-01-05T12:00:00.000Z', ['weekly', 'yearly']], // 2027-W01
        ['2027-01-03T12:00:00.000Z', ['weekly']], // Sunday, 2026-W53
        ['2026-12-31T12:00:00.000Z', ['yearly']], // still 2026-W53: not a new week
        ['2026-12-27T12:00:00.000Z', ['weekly']], // 2026-W52
      ],
    );
    // 2026-12-31 and 2027-01-01 share an ISO week.
    assert.equal(bucketOf.weekly(new Date('2026-12-31T12:00:00Z')), bucketOf.weekly(new Date('2027-01-01T12:00:00Z')));
    assert.notEqual(
      bucketOf.yearly(new Date('2026-12-31T12:00:00Z')),
      bucketOf.yearly(new Date('2027-01-01T12:00:00Z')),
    );
  });

  it('always keeps the newest snapshot, whatever single kind the policy uses', () => {
    // Every kind with a count > 0 opens its first bucket with the newest snapshot, so a valid
    // policy always keeps it for a real reason; "newest" is only a defensive fallback.
    const series = [snap('2026-01-01T00:00:00Z'), snap('2026-01-02T00:00:00Z'), snap('2025-12-31T00:00:00Z')];
    for (const [policy, reason] of [
      [{ keepLast: 1 }, 'last'],
      [{ keepHourly: 1 }, 'hourly'],
      [{ keepDaily: 1 }, 'daily'],
      [{ keepWeekly: 1 }, 'weekly'],
      [{ keepMonthly: 1 }, 'monthly'],
      [{ keepYearly: 1 }, 'yearly'],
    ] as const) {
      const plan = planRetention(series, policy);
      assert.equal(plan.keep[0]?.id, '2026-01-02T00:00:00.000Z');
      assert.deepEqual(plan.keep[0]?.reasons, [reason]);
    }
  });

  it('keeps several snapshots with the same timestamp deterministically', () => {
    const t = new Date('2026-07-01T12:00:00Z');
    const series: RetentionInput[] = [
      { id: 'b', time: t },
      { id: 'a', time: t },
      { id: 'c', time: t },
      { id: 'old', time: new Date('2026-06-30T12:00:00Z') },
    ];
    const last2 = planRetention(series, { keepLast: 2 });
    assert.deepEqual(
      last2.keep.map((k) => k.id),
      ['c', 'b'],
    );
    assert.deepEqual(
      last2.remove.map((k) => k.id),
      ['a', 'old'],
    );
    const daily = planRetention([...series].reverse(), { keepDaily: 5 });
    assert.deepEqual(
      daily.keep.map((k) => [k.id, k.reasons]),
      [
        ['c', ['daily']],
        ['old', ['daily']],
      ],
    );
    assert.deepEqual(
      daily.remove.map((k) => k.id),
      ['b', 'a'],
    );
    const all = planRetention(series, { keepLast: 10 });
    assert.equal(all.keep.length, 4);
    assert.equal(all.remove.length, 0);
  });

  it('does not modify its input', () => {
    const series = [snap('2026-01-01T00:00:00Z'), snap('2026-01-03T00:00:00Z'), snap('2026-01-02T00:00:00Z')];
    const copy = series.map((s) => ({ ...s }));
    planRetention(series, { keepLast: 1 });
    assert.deepEqual(series, copy);
  });
});

describe('planRetention: UTC only (DST and the local time zone do not matter)', () => {
  const originalTz = process.env.TZ;
  afterEach(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  it('buckets by UTC across the European and US DST changes', () => {
    const series = [
      ...hourlySeries('2026-03-07T00:00:00Z', '2026-03-09T23:00:00Z'), // US change 2026-03-08
      ...hourlySeries('2026-03-28T00:00:00Z', '2026-03-30T23:00:00Z'), // EU change 2026-03-29
      ...hourlySeries('2026-10-24T00:00:00Z', '2026-10-26T23:00:00Z'), // EU change 2026-10-25
    ];
    const policy = { keepLast: 2, keepHourly: 30, keepDaily: 9, keepWeekly: 3, keepMonthly: 2, keepYearly: 1 };
    const results: string[] = [];
    for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Pacific/Chatham', 'Asia/Kolkata']) {
      process.env.TZ = tz;
      results.push(JSON.stringify(planRetention(series, policy)));
    }
    for (const r of results) assert.equal(r, results[0]);

    process.env.TZ = 'America/New_York';
    const daily = planRetention(series, { keepDaily: 9 }).keep.map((k) => k.id);
    assert.deepEqual(daily, [
      '2026-10-26T23:00:00.000Z',
      '2026-10-25T23:00:00.000Z',
      '2026-10-24T23:00:00.000Z',
      '2026-03-30T23:00:00.000Z',
      '2026-03-29T23:00:00.000Z',
      '2026-03-28T23:00:00.000Z',
      '2026-03-09T23:00:00.000Z',
      '2026-03-08T23:00:00.000Z',
      '2026-03-07T23:00:00.000Z',
    ]);
  });

  it('UTC midnight separates days regardless of offset', () => {
    process.env.TZ = 'Pacific/Kiritimati'; // UTC+14
    const series = [snap('2026-03-30T00:30:00Z'), snap('2026-03-29T23:30:00Z')];
    assert.deepEqual(planRetention(series, { keepDaily: 2 }).keep.length, 2);
  });
});

describe('planRetention: properties', () => {
  const kinds = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
  const field = {
    hourly: 'keepHourly',
    daily: 'keepDaily',
    weekly: 'keepWeekly',
    monthly: 'keepMonthly',
    yearly: 'keepYearly',
  } as const;

  it('holds for 500 random series and policies', () => {
    const rnd = mulberry32(0x5eed);
    const int = (n: number): number => Math.floor(rnd() * n);
    const spans = [3_600_000, 86_400_000, 7 * 86_400_000, 400 * 86_400_000, 5 * 365 * 86_400_000];

    for (let run = 0; run < 500; run++) {
      const span = spans[int(spans.length)]!;
      const base = Date.parse('2024-12-20T00:00:00Z') + int(400) * 86_400_000;
      const n = int(80);
      const series: RetentionInput[] = [];
      for (let i = 0; i < n; i++) {
        // Some exact duplicate timestamps, some round hours, mostly arbitrary times.
        const prev = series[int(Math.max(series.length, 1))];
        const step = rnd() < 0.3 ? 3_600_000 : 1;
        const time =
          prev && rnd() < 0.1
            ? new Date(prev.time.getTime())
            : new Date(base + Math.floor((rnd() * span) / step) * step);
        series.push({ id: `s${i}`, time });
      }
      const policy: Required<RetentionPolicy> = {
        keepLast: rnd() < 0.5 ? 0 : int(8),
        keepHourly: rnd() < 0.6 ? 0 : int(30),
        keepDaily: rnd() < 0.5 ? 0 : int(15),
        keepWeekly: rnd() < 0.5 ? 0 : int(8),
        keepMonthly: rnd() < 0.5 ? 0 : int(13),
        keepYearly: rnd() < 0.5 ? 0 : int(5),
      };
      if (Object.values(policy).every((v) => v === 0)) policy.keepDaily = 1 + int(5);
      const ctx = `run ${run}: ${JSON.stringify(policy)} n=${n}`;

      const plan = planRetention(series, policy);

      // keep ∪ remove = input, disjoint (ids are unique here).
      const keepIds = plan.keep.map((k) => k.id);
      const removeIds = plan.remove.map((r) => r.id);
      assert.equal(keepIds.length + removeIds.length, n, ctx);
      assert.deepEqual([...keepIds, ...removeIds].sort(), series.map((s) => s.id).sort(), ctx);
      assert.equal(new Set([...keepIds, ...removeIds]).size, n, ctx);

      // Both sorted newest first.
      for (const list of [plan.keep, plan.remove]) {
        for (let i = 1; i < list.length; i++) {
          assert.ok(list[i - 1]!.time.getTime() >= list[i]!.time.getTime(), ctx);
        }
      }

      // Every kept snapshot has a reason; every reason is used at most N times.
      for (const k of plan.keep) assert.ok(k.reasons.length > 0, ctx);
      const count = (r: string): number => plan.keep.filter((k) => k.reasons.includes(r as never)).length;

      if (n === 0) continue;
      const newestTime = Math.max(...series.map((s) => s.time.getTime()));

      // The newest is always kept.
      assert.ok(plan.keep.length > 0, ctx);
      assert.equal(plan.keep[0]!.time.getTime(), newestTime, ctx);
      assert.ok(count('newest') <= 1, ctx);

      // keepLast keeps exactly the min(N, total) newest.
      const lastKept = plan.keep.filter((k) => k.reasons.includes('last'));
      assert.equal(lastKept.length, Math.min(policy.keepLast, n), ctx);
      if (lastKept.length > 0) {
        const oldestLast = Math.min(...lastKept.map((k) => k.time.getTime()));
        const notLast = [...plan.remove, ...plan.keep.filter((k) => !k.reasons.includes('last'))];
        for (const s of notLast) assert.ok(s.time.getTime() <= oldestLast, ctx);
      }

      // Per bucket kind: at most N, and exactly the newest snapshot of each of the N newest buckets.
      const sorted = [...series].sort((a, b) => b.time.getTime() - a.time.getTime());
      for (const kind of kinds) {
        const limit = policy[field[kind]];
        assert.ok(count(kind) <= limit, `${ctx} ${kind}`);
        const expectedTimes: number[] = [];
        const seen = new Set<string>();
        for (const s of sorted) {
          const b = bucketOf[kind](s.time);
          if (!seen.has(b)) {
            seen.add(b);
            if (expectedTimes.length < limit) expectedTimes.push(s.time.getTime());
          }
        }
        const actualTimes = plan.keep.filter((k) => k.reasons.includes(kind)).map((k) => k.time.getTime());
        assert.deepEqual(actualTimes, expectedTimes, `${ctx} ${kind}`);
      }
      assert.equal(count('newest'), plan.keep[0]!.reasons.includes('newest') ? 1 : 0, ctx);
    }
  });
});
