import type { DrillRecord } from '../repository/drill-record.js';
import { bytesAxis, renderChart, secondsAxis } from './charts.js';
import { formatBytes } from '../observability/byte-size.js';
import { ageText, secondsText, utcText } from './format.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { buildReportModel, type DrillStatus, type ReportInput, type ReportModel } from './model.js';

/**
 * The page's policy: nothing may load or run — no scripts (not even inline ones), no images,
 * fonts or frames, from anywhere; only the inline styles below. The page is data for an auditor
 * and must stay inert whatever a manifest or drill record holds.
 */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'";

// A template without values: markup (CSS) written here, not data, so it is not escaped.
export const STYLE = html`
:root { color-scheme: light; --ok: #1b7f3b; --bad: #c62828; --muted: #5f6368; --line: #d0d4d9; }
* { box-sizing: border-box; }
body { font-family: system-ui, "DejaVu Sans", sans-serif; color: #1f2328; margin: 24px auto; max-width: 1180px;
  padding: 0 16px; font-size: 14px; line-height: 1.45; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0; } code, .id { font-family: "DejaVu Sans Mono", monospace; font-size: 13px; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px; margin: 16px 0 0; }
.summary div { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.summary dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.summary dd { margin: 2px 0 0; font-size: 15px; }
.summary .alert { border-color: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
td.num, th.num { text-align: right; white-space: nowrap; }
.passed { color: var(--ok); font-weight: 600; } .failed { color: var(--bad); font-weight: 600; }
.never { color: var(--muted); } tr.drill-failed td { background: #fdf0ef; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; flex: 1 1 480px; max-width: 640px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
svg .grid { stroke: #eceef1; } svg .axis { stroke: #80868b; }
svg .line { fill: none; stroke: #1a73e8; stroke-width: 1.5; }
svg .marker { fill: #1a73e8; } svg rect.failed { fill: #c62828; }
svg text { font-size: 11px; fill: #3c4043; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg .axis-title { fill: var(--muted); }
.legend { color: var(--muted); font-size: 12px; } .legend .sq { color: var(--bad); }
.empty { color: var(--muted); font-style: italic; }
ul.checks { margin: 0; padding-left: 16px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { body { margin: 0; max-width: none; } figure, tr { break-inside: avoid; } }
`;

const statusText: Record<DrillStatus, string> = { passed: 'passed', failed: 'FAILED', never: 'never drilled' };

const server = (s: { flavour?: string | undefined; version?: string | undefined }) =>
  [s.flavour === 'openbao' ? 'OpenBao' : s.flavour === 'vault' ? 'HashiCorp Vault' : s.flavour, s.version]
    .filter(Boolean)
    .join(' ') || '—';

const td = (value: HtmlValue, cls?: string) => (cls ? html`<td class="${cls}">${value}</td>` : html`<td>${value}</td>`);
const th = (label: string, cls?: string) => (cls ? html`<th class="${cls}">${label}</th>` : html`<th>${label}</th>`);
const id = (value: string) => html`<span class="id">${value}</span>`;
const result = (passed: boolean) =>
  html`<span class="${passed ? 'passed' : 'failed'}">${passed ? 'passed' : 'FAILED'}</span>`;

function lastDrillCell(status: DrillStatus, drill: DrillRecord | undefined): SafeHtml {
  if (!drill) return html`<span class="never">never drilled</span>`;
  return html`<span class="${status}">${statusText[status]}</span> ${utcText(drill.finishedAt)}
· RTO ${secondsText(drill.rtoSeconds)}`;
}

function summary(model: ReportModel, p: string): SafeHtml {
  const s = model.summary;
  const item = (label: string, value: HtmlValue, alert = false) =>
    html`<div${alert ? html` class="alert"` : ''}><dt>${label}</dt><dd>${value}</dd></div>`;
  const items = [
    item('Snapshots', s.snapshots ? `${s.snapshots} · ${formatBytes(s.totalBytes)} in all` : 'none', !s.snapshots),
    item(
      'Newest snapshot',
      s.newest ? html`${id(s.newest.id)}<br>${utcText(s.newest.createdAt)} · ${ageText(s.newest.ageMs)} old` : 'none',
    ),
    item(
      'Newest verified snapshot',
      s.newestVerified
        ? html`${id(s.newestVerified.id)}<br>${ageText(s.newestVerified.ageMs)} old
· drill passed ${utcText(s.newestVerified.drilledAt)}`
        : html`<span class="failed">none</span>: no snapshot has a passing restore drill`,
      !s.newestVerified,
    ),
    item(
      'Restore drills',
      html`${s.drills.total} · <span class="passed">${s.drills.passed} passed</span>
· <span class="${s.drills.failed ? 'failed' : 'never'}">${s.drills.failed} failed</span>`,
      s.drills.failed > 0,
    ),
    item(
      'Last drill',
      s.lastDrill
        ? html`${result(s.lastDrill.passed)} ${utcText(s.lastDrill.finishedAt)}<br>of ${id(s.lastDrill.snapshotId)}`
        : html`<span class="never">none</span>`,
      s.lastDrill ? !s.lastDrill.passed : false,
    ),
    item('Never verified', `${s.unverified} of ${s.snapshots} snapshots`, s.unverified > 0),
    s.incomplete
      ? item('Incomplete objects', `${s.incomplete} (interrupted saves or uploads; snapshot prune removes them)`, true)
      : '',
  ];
  return html`<dl class="summary" id="${p}summary">
${items.map((i) => html`${i}\n`)}</dl>`;
}

function charts(model: ReportModel, p: string): SafeHtml {
  const sizes = model.snapshots.map((r) => ({
    time: new Date(r.manifest.createdAt).getTime(),
    value: r.manifest.archive.bytes,
    label: `${r.manifest.id}: ${formatBytes(r.manifest.archive.bytes)}`,
  }));
  const rtos = model.drills.map((d) => ({
    time: new Date(d.record.finishedAt).getTime(),
    value: d.record.rtoSeconds,
    failed: !d.record.passed,
    label: `${d.record.snapshotId}: ${d.record.passed ? 'passed' : 'FAILED'}, RTO ${secondsText(d.record.rtoSeconds)}`,
  }));
  const sizeChart = sizes.length
    ? renderChart({
        id: `${p}chart-size`,
        title: 'Snapshot size over time',
        yTitle: 'archive size',
        points: sizes,
        axis: bytesAxis(Math.max(...sizes.map((p) => p.value))),
      })
    : html`<p class="empty">No snapshots to chart.</p>`;
  const rtoChart = rtos.length
    ? renderChart({
        id: `${p}chart-rto`,
        title: 'Restore drill RTO over time',
        yTitle: 'recovery time',
        points: rtos,
        axis: secondsAxis(Math.max(...rtos.map((p) => p.value))),
      })
    : html`<p class="empty">No restore drills to chart.</p>`;
  return html`<div class="charts">
<figure><figcaption>Snapshot size over time</figcaption>${sizeChart}</figure>
<figure><figcaption>Restore drill RTO over time</figcaption>${rtoChart}
<p class="legend">● passed drill · <span class="sq">■</span> failed drill · RTO: download to a checked server</p>
</figure>
</div>`;
}

function catalogue(model: ReportModel, p: string): SafeHtml {
  if (!model.snapshots.length) return html`<p class="empty">No snapshots in ${model.storeUrl}.</p>`;
  const head = [
    th('Snapshot'),
    th('Created'),
    th('Size', 'num'),
    th('Age', 'num'),
    th('Server'),
    th('Drills', 'num'),
    th('Last drill'),
  ];
  const rows = model.snapshots.map((r) => {
    const cluster = r.manifest.cluster;
    return html`<tr class="drill-${r.status}">${[
      td(r.manifest.id, 'id'),
      td(utcText(r.manifest.createdAt, { seconds: true })),
      td(formatBytes(r.manifest.archive.bytes), 'num'),
      td(ageText(r.ageMs), 'num'),
      td(html`${server(cluster)}${cluster.name ? html`<br><span class="never">${cluster.name}</span>` : ''}`),
      td(r.drillCount, 'num'),
      td(lastDrillCell(r.status, r.lastDrill)),
    ]}</tr>\n`;
  });
  return html`<table id="${p}catalogue">
<thead><tr>${head}</tr></thead>
<tbody>
${rows}</tbody>
</table>`;
}

function drillHistory(model: ReportModel, p: string): SafeHtml {
  if (!model.drills.length) {
    return html`<p class="empty">No restore drill has been recorded in this store:
run <code>vault-ops verify --from ${model.storeUrl}</code>.</p>`;
  }
  const head = [
    th('Finished'),
    th('Snapshot'),
    th('Result'),
    th('Mode'),
    th('Restored into'),
    th('RTO', 'num'),
    th('Failed checks'),
  ];
  const rows = model.drills.map(({ record: d, inCatalogue, failedChecks }) => {
    const checks = failedChecks.length
      ? html`<ul class="checks">${failedChecks.map((c) => html`<li><strong>${c.name}</strong>: ${c.detail}</li>`)}</ul>`
      : html`<span class="never">none</span>`;
    const gone = inCatalogue ? '' : html`<br><span class="never">no longer in the catalogue</span>`;
    return html`<tr class="drill-${d.passed ? 'passed' : 'failed'}">${[
      td(utcText(d.finishedAt, { seconds: true })),
      td(html`${d.snapshotId}${gone}`, 'id'),
      td(result(d.passed)),
      td(d.mode),
      td(server(d.server)),
      td(secondsText(d.rtoSeconds), 'num'),
      td(checks),
    ]}</tr>\n`;
  });
  return html`<table id="${p}drills">
<thead><tr>${head}</tr></thead>
<tbody>
${rows}</tbody>
</table>`;
}

/** The whole page: one self-contained HTML document, inert (see REPORT_CSP), every value escaped. */
export function renderReport(input: ReportInput): string {
  return renderReportModel(buildReportModel(input));
}

/** The page of a model already built (the command reports the model's counts too). */
export function renderReportModel(model: ReportModel): string {
  const generated = utcText(model.generatedAt, { seconds: true });
  return reportPage({
    title: `Backups and restore drills: ${model.storeUrl}`,
    toolVersion: model.toolVersion,
    style: STYLE,
    body: html`<header>
<h1>Backups and restore drills</h1>
<p class="meta">Store <code>${model.storeUrl}</code> · generated ${generated} by vault-ops ${model.toolVersion}</p>
</header>
${storeSections(model, '', 'h2')}`,
  });
}

/** A whole report page around `body` (then the footer), under the CSP that lets nothing load or run. */
export function reportPage(page: { title: string; toolVersion: string; style: SafeHtml; body: SafeHtml }): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="vault-ops ${page.toolVersion}">
<title>${page.title}</title>
<style>${page.style}</style>
</head>
<body>
${page.body}
${FOOTER}
</body>
</html>
`.value;
}

/**
 * One store's part of a page: summary, charts, catalogue and drill history. `p` prefixes every
 * element id (a fleet page holds several stores); `level` is the heading level of its parts.
 */
export function storeSections(model: ReportModel, p: string, level: 'h2' | 'h3'): SafeHtml {
  const heading = (text: string) => (level === 'h2' ? html`<h2>${text}</h2>` : html`<h3>${text}</h3>`);
  return html`${summary(model, p)}
${heading('Charts')}
${charts(model, p)}
${heading('Catalogue')}
${catalogue(model, p)}
${heading('Restore drill history')}
${drillHistory(model, p)}`;
}

const FOOTER = html`<footer>
Times are UTC; sizes are binary (1 MiB = 1024 × 1024 bytes); ages are counted from the generation time.
A snapshot is verified when a restore drill (<code>vault-ops verify</code>) restored it into a scratch server and
every check passed; RTO is the drill's measured time from the start of the download to a checked server.</footer>`;
