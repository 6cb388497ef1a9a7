import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DrillRecord } from '../repository/drill-record.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { fakeManifest } from '../../test/helpers/manifest.js';
import { bytesAxis, chartGeometry, FRAME, niceStep, renderChart, secondsAxis } from './charts.js';
import { ageText, secondsText, utcText } from './format.js';
import { escapeHtml, html } from './html.js';
import { buildReportModel } from './model.js';
import { REPORT_CSP, renderReport } from './render.js';

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'&"`;
const NOW = new Date('2026-11-30T12:00:00.000Z');

function manifest(
  id: string,
  createdAt: string,
  bytes: number,
  extra: Partial<SnapshotManifest> = {},
): SnapshotManifest {
  return fakeManifest({
    id,
    createdAt,
    archive: { key: `p/${id}.snap`, bytes, sha256: 'a'.repeat(64) },
    snapshotMeta: { version: 1, size: 1 },
    cluster: { flavour: 'openbao', version: '2.4.0', name: 'prod' },
    ...extra,
  });
}

function drill(
  snapshotId: string,
  finishedAt: string,
  passed: boolean,
  rtoSeconds: number,
  detail = 'ok',
): DrillRecord {
  return {
    snapshotId,
    finishedAt,
    passed,
    mode: 'recovery',
    server: { flavour: 'openbao', version: '2.4.0' },
    checks: [
      { name: 'archive-integrity', passed: true, detail: 'sha256 matches' },
      { name: 'canary', passed, detail },
    ],
    timings: { download: 1, start: 2, restore: 3, unseal: 4, checks: 1, total: rtoSeconds },
    rtoSeconds,
    toolVersion: 'test',
  };
}

const A = manifest('20261128T100000Z-aaaaaa', '2026-11-28T10:00:00.000Z', 10 * 1024 * 1024);
const B = manifest('20261129T100000Z-bbbbbb', '2026-11-29T10:00:00.000Z', 12 * 1024 * 1024);
const C = manifest('20261130T100000Z-cccccc', '2026-11-30T10:00:00.000Z', 13 * 1024 * 1024);
const catalogue = { snapshots: [C, B, A], incomplete: [], drillKeys: {}, untrusted: [], anomalies: [], signed: false };
const drills = [
  drill(A.id, '2026-11-28T11:00:00.000Z', true, 20),
  drill(B.id, '2026-11-29T11:00:00.000Z', true, 22),
  drill(C.id, '2026-11-30T11:00:00.000Z', false, 30, 'nonce differs'),
  drill('20261101T000000Z-gone00', '2026-11-01T11:00:00.000Z', true, 18),
];

/** Elements of a kind in a page, by their opening tag. */
const count = (page: string, re: RegExp) => page.match(re)?.length ?? 0;

describe('report: escaping', () => {
  test('escapeHtml and html`` escape the five special characters; nested html stays markup', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(
      html`<p>${inner}${['<', html`<br>`]}${undefined}${null}${false}${0}</p>`.value,
      '<p><b>&lt;i&gt;</b>&lt;<br>0</p>',
    );
  });

  test('a hostile string in every field that reaches the page is shown as text, never as markup', () => {
    const evil = manifest(`20261130T110000Z-${HOSTILE}`, '2026-11-30T11:00:00.000Z', 1000, {
      cluster: { flavour: 'vault', version: HOSTILE, name: HOSTILE },
    });
    const evilDrill: DrillRecord = {
      ...drill(evil.id, '2026-11-30T11:30:00.000Z', false, 5, HOSTILE),
      server: { version: HOSTILE },
      checks: [{ name: HOSTILE, passed: false, detail: HOSTILE }],
    };
    const page = renderReport({
      storeUrl: `file:///srv/${HOSTILE}`,
      catalogue: { snapshots: [evil], incomplete: [], drillKeys: {}, untrusted: [], anomalies: [], signed: false },
      drills: [evilDrill],
      now: NOW,
      toolVersion: HOSTILE,
    });
    assert.equal(count(page, /<script/gi), 0, 'no script element');
    assert.equal(count(page, /<img/gi), 0, 'no img element');
    assert.equal(count(page, /onerror=/gi) - count(page, /&lt;img src=x onerror=/g), 0, 'no handler outside text');
    const escaped = escapeHtml(HOSTILE);
    // Store URL (title, header, empty-state hint), id, cluster, versions, check name and detail, tooltips.
    assert.ok(count(page, new RegExp(escaped.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g')) >= 10);
    assert.ok(!page.includes(HOSTILE));
  });

  test('the page declares the strict policy and holds no script, link, image or external reference', () => {
    const page = renderReport({ storeUrl: 'file:///srv/b', catalogue, drills, now: NOW, toolVersion: '1' });
    assert.equal(REPORT_CSP, "default-src 'none'; style-src 'unsafe-inline'");
    const csp = 'default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;';
    assert.ok(page.includes(`<meta http-equiv="Content-Security-Policy" content="${csp}">`));
    for (const tag of [/<script/i, /<link/i, /<img/i, /<iframe/i, /<object/i, /\son\w+=/i, /url\(/i, /@import/i])
      assert.doesNotMatch(page, tag);
    // The only URL-like text is the SVG namespace (an identifier, never fetched).
    assert.deepEqual([...new Set(page.match(/https?:\/\/[^\s"<]+/g))], ['http://www.w3.org/2000/svg']);
  });
});

describe('report: formats', () => {
  test('binary units, ages, durations, UTC times', () => {
    assert.equal(ageText(45_000), '45 s');
    assert.equal(ageText(12 * 60_000), '12 min');
    assert.equal(ageText((3 * 60 + 5) * 60_000), '3 h 5 min');
    assert.equal(ageText((2 * 24 + 4) * 3_600_000), '2 d 4 h');
    assert.equal(ageText(-5000), '0 s');
    assert.equal(secondsText(0.84), '0.8 s');
    assert.equal(secondsText(14.4), '14 s');
    assert.equal(secondsText(125), '2 min 5 s');
    assert.equal(utcText('2026-11-28T14:03:59.900Z'), '2026-11-28 14:03 UTC');
    assert.equal(utcText('2026-11-28T14:03:59.900Z', { seconds: true }), '2026-11-28 14:03:59 UTC');
  });
});

describe('report: model', () => {
  test('last drill per snapshot, newest verified, counts, drills of pruned snapshots', () => {
    const m = buildReportModel({ storeUrl: 's', catalogue, drills, now: NOW, toolVersion: '1' });
    assert.deepEqual(
      m.snapshots.map((r) => [r.manifest.id, r.status, r.drillCount]),
      [
        [C.id, 'failed', 1],
        [B.id, 'passed', 1],
        [A.id, 'passed', 1],
      ],
    );
    assert.equal(m.summary.newest?.id, C.id);
    assert.equal(m.summary.newest?.ageMs, 2 * 3_600_000);
    assert.equal(m.summary.newestVerified?.id, B.id, 'C failed its drill: B is the newest proven snapshot');
    assert.equal(m.summary.newestVerified?.ageMs, 26 * 3_600_000);
    assert.equal(m.summary.unverified, 1);
    assert.deepEqual(m.summary.drills, { total: 4, passed: 3, failed: 1 });
    assert.equal(m.summary.lastDrill?.snapshotId, C.id);
    assert.deepEqual(
      m.drills.map((d) => [d.record.snapshotId, d.inCatalogue, d.failedChecks.map((c) => c.name)]),
      [
        [C.id, true, ['canary']],
        [B.id, true, []],
        [A.id, true, []],
        ['20261101T000000Z-gone00', false, []],
      ],
    );
  });

  test('a later failed drill makes the last drill FAILED; an earlier pass still counts as verified', () => {
    const m = buildReportModel({
      storeUrl: 's',
      catalogue: { snapshots: [A], incomplete: [], drillKeys: {}, untrusted: [], anomalies: [], signed: false },
      drills: [drill(A.id, '2026-11-29T00:00:00Z', false, 9), drill(A.id, '2026-11-28T12:00:00Z', true, 8)],
      now: NOW,
      toolVersion: '1',
    });
    assert.equal(m.snapshots[0]?.status, 'failed');
    assert.equal(m.snapshots[0]?.drillCount, 2);
    assert.equal(m.summary.newestVerified?.id, A.id);
  });
});

describe('report: chart geometry', () => {
  test('nice steps and zero-based axes in binary units and seconds', () => {
    assert.equal(niceStep(13), 5);
    assert.equal(niceStep(8), 2);
    assert.equal(niceStep(0.4), 0.1);
    const bytes = bytesAxis(13 * 1024 * 1024);
    assert.equal(bytes.max, 15 * 1024 * 1024);
    assert.deepEqual(
      bytes.ticks.map((t) => t.label),
      ['0 MiB', '5 MiB', '10 MiB', '15 MiB'],
    );
    assert.deepEqual(
      secondsAxis(30).ticks.map((t) => t.label),
      ['0 s', '10 s', '20 s', '30 s'],
    );
    assert.deepEqual(
      secondsAxis(1500).ticks.map((t) => t.label),
      ['0 min', '10 min', '20 min', '30 min'],
    );
    assert.equal(bytesAxis(0).max, 1, 'all-zero data still has an axis');
  });

  test('oldest point on the left edge, newest on the right, 0 at the bottom, the maximum at the top', () => {
    const axis = { max: 100, ticks: [0, 50, 100].map((value) => ({ value, label: String(value) })) };
    const g = chartGeometry(
      [
        { time: 3000, value: 100, label: 'c' },
        { time: 1000, value: 0, label: 'a' },
        { time: 2000, value: 50, failed: true, label: 'b' },
      ],
      axis,
    );
    const bottom = FRAME.height - FRAME.bottom;
    const right = FRAME.width - FRAME.right;
    assert.deepEqual(g.points, [
      { x: FRAME.left, y: bottom, failed: false, label: 'a' },
      { x: (FRAME.left + right) / 2, y: (FRAME.top + bottom) / 2, failed: true, label: 'b' },
      { x: right, y: FRAME.top, failed: false, label: 'c' },
    ]);
    assert.deepEqual(
      g.yTicks.map((t) => t.y),
      [bottom, (FRAME.top + bottom) / 2, FRAME.top],
    );
    assert.deepEqual(
      g.xTicks.map((t) => [t.x, t.anchor]),
      [
        [FRAME.left, 'start'],
        [(FRAME.left + right) / 2, 'middle'],
        [right, 'end'],
      ],
    );
  });

  test('one point sits in the middle with one time label; no points draw nothing', () => {
    const axis = secondsAxis(10);
    const g = chartGeometry([{ time: Date.parse('2026-11-30T10:00:00Z'), value: 10, label: 'x' }], axis);
    assert.equal(g.points[0]?.x, (FRAME.left + FRAME.width - FRAME.right) / 2);
    assert.equal(g.points[0]?.y, FRAME.top);
    assert.deepEqual(
      g.xTicks.map((t) => t.label),
      ['2026-11-30 10:00 UTC'],
    );
    assert.deepEqual(chartGeometry([], axis).points, []);
    assert.deepEqual(chartGeometry([], axis).xTicks, []);
  });

  test('the SVG draws one marker per point, failed ones as red squares, a line only through two or more', () => {
    const svg = renderChart({
      id: 'c',
      title: 'T',
      yTitle: 'y',
      axis: secondsAxis(30),
      points: [
        { time: 1, value: 10, label: 'a' },
        { time: 2, value: 30, failed: true, label: 'b' },
        { time: 3, value: 20, label: 'c' },
      ],
    }).value;
    assert.equal(count(svg, /<circle class="marker"/g), 2);
    assert.equal(count(svg, /<rect class="marker failed"/g), 1);
    assert.equal(count(svg, /<polyline/g), 1);
    assert.match(svg, /data-points="3" data-failed="1"/);
    assert.equal(count(svg, /<text class="tick"/g), 4 + 3, 'four y labels, three time labels');
    const single = renderChart({
      id: 'c',
      title: 'T',
      yTitle: 'y',
      axis: secondsAxis(1),
      points: [{ time: 1, value: 1, label: 'a' }],
    });
    assert.equal(count(single.value, /<polyline/g), 0);
  });
});

describe('report: empty cases', () => {
  test('an empty store: no tables, no charts, and sentences that say so', () => {
    const page = renderReport({
      storeUrl: 'file:///srv/empty',
      catalogue: { snapshots: [], incomplete: [], drillKeys: {}, untrusted: [], anomalies: [], signed: false },
      drills: [],
      now: NOW,
      toolVersion: '1',
    });
    assert.equal(count(page, /<svg/g), 0);
    assert.equal(count(page, /<table/g), 0);
    assert.match(page, /No snapshots in file:\/\/\/srv\/empty\./);
    assert.match(page, /No restore drill has been recorded in this store/);
    assert.match(page, /<dt>Newest verified snapshot<\/dt><dd><span class="failed">none<\/span>/);
    assert.match(page, /<dt>Snapshots<\/dt><dd>none<\/dd>/);
  });

  test('snapshots but no drills: the size chart and the catalogue, every snapshot never drilled', () => {
    const page = renderReport({ storeUrl: 's', catalogue, drills: [], now: NOW, toolVersion: '1' });
    assert.equal(count(page, /<svg/g), 1);
    assert.match(page, /id="chart-size"/);
    assert.match(page, /No restore drills to chart\./);
    assert.equal(count(page, /<tr class="drill-never">/g), 3);
    assert.match(page, /<dt>Never verified<\/dt><dd>3 of 3 snapshots<\/dd>/);
  });

  test('the full page: three catalogue rows, four drill rows, two charts, one failed marker', () => {
    const page = renderReport({ storeUrl: 's', catalogue, drills, now: NOW, toolVersion: '1' });
    const section = (id: string) =>
      page.slice(page.indexOf(`<table id="${id}"`), page.indexOf('</table>', page.indexOf(`<table id="${id}"`)));
    assert.equal(count(section('catalogue'), /<tr class=/g), 3);
    assert.equal(count(section('drills'), /<tr class=/g), 4);
    assert.equal(count(page, /<svg/g), 2);
    assert.match(page, /id="chart-rto"[^>]*data-points="4" data-failed="1"/);
    assert.match(page, /<td class="num">13\.0 MiB<\/td><td class="num">2 h<\/td>/);
    assert.match(page, /<li><strong>canary<\/strong>: nonce differs<\/li>/);
    assert.match(page, /no longer in the catalogue/);
  });
});
