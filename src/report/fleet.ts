import { ageText, utcText } from './format.js';
import { html, type SafeHtml } from './html.js';
import type { ReportModel } from './model.js';
import { STYLE, reportPage, storeSections } from './render.js';

/**
 * One store of a fleet page (`report --from prod-eu=URL --from prod-us=URL …`): its model when the
 * store could be read, else why not. A store that cannot be read is a red row, never a missing page.
 */
export type FleetStore =
  | { label: string; storeUrl: string; model: ReportModel }
  | { label: string; storeUrl: string; error: string };

/** How a store compares in the fleet table: the figures it is ordered by, worst first. */
export interface FleetRow {
  store: FleetStore;
  /** Age of the newest snapshot with a passing drill; undefined: none (or the store is unreadable). */
  verifiedAgeMs: number | undefined;
  lastDrill: 'failed' | 'never' | 'passed' | 'unreadable';
  /** Age of the newest snapshot; undefined: none. */
  snapshotAgeMs: number | undefined;
}

const DRILL_RANK = { unreadable: 0, failed: 1, never: 2, passed: 3 } as const;

export function fleetRow(store: FleetStore): FleetRow {
  if (!('model' in store))
    return { store, verifiedAgeMs: undefined, lastDrill: 'unreadable', snapshotAgeMs: undefined };
  const s = store.model.summary;
  return {
    store,
    verifiedAgeMs: s.newestVerified?.ageMs,
    lastDrill: s.lastDrill ? (s.lastDrill.passed ? 'passed' : 'failed') : 'never',
    snapshotAgeMs: s.newest?.ageMs,
  };
}

/**
 * Worst first: an unreadable store; then the oldest newest-verified snapshot (none verified counts
 * as infinitely old); then a failed last drill before none before a passed one; then the oldest
 * newest snapshot (none counts as infinitely old); ties by label, so the order is stable.
 */
export function rankFleet(stores: readonly FleetStore[]): FleetRow[] {
  const age = (ms: number | undefined) => ms ?? Number.POSITIVE_INFINITY;
  return stores.map(fleetRow).sort((a, b) => {
    const unreadable = Number(b.lastDrill === 'unreadable') - Number(a.lastDrill === 'unreadable');
    if (unreadable) return unreadable;
    const verified = age(b.verifiedAgeMs) - age(a.verifiedAgeMs);
    if (verified && !Number.isNaN(verified)) return verified;
    const drill = DRILL_RANK[a.lastDrill] - DRILL_RANK[b.lastDrill];
    if (drill) return drill;
    const snapshot = age(b.snapshotAgeMs) - age(a.snapshotAgeMs);
    if (snapshot && !Number.isNaN(snapshot)) return snapshot;
    return a.store.label < b.store.label ? -1 : a.store.label > b.store.label ? 1 : 0;
  });
}

/** `prod-eu` → `store-prod-eu-`: a prefix for the ids of one store's section (letters, digits, -). */
const sectionId = (index: number, label: string) =>
  `store-${index + 1}-${label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;

const LAST_DRILL_TEXT = { failed: 'FAILED', never: 'never drilled', passed: 'passed', unreadable: '—' } as const;

function fleetTable(rows: FleetRow[], anchors: Map<FleetStore, string>): SafeHtml {
  const body = rows.map((r) => {
    const anchor = anchors.get(r.store)!;
    const name = html`<a href="#${anchor}">${r.store.label}</a><br><code>${r.store.storeUrl}</code>`;
    if (!('model' in r.store)) {
      const why = html`<td colspan="3" class="failed">cannot be read: ${r.store.error}</td>`;
      return html`<tr class="store-unreadable"><td>${name}</td>${why}</tr>\n`;
    }
    const bad = r.verifiedAgeMs === undefined || r.lastDrill === 'failed';
    const verified =
      r.verifiedAgeMs === undefined
        ? html`<span class="failed">none verified</span>`
        : html`${ageText(r.verifiedAgeMs)} old`;
    const snapshot =
      r.snapshotAgeMs === undefined ? html`<span class="failed">none</span>` : `${ageText(r.snapshotAgeMs)} old`;
    return html`<tr class="${bad ? 'store-bad' : 'store-ok'}"><td>${name}</td><td class="num">${verified}</td>
<td><span class="${r.lastDrill}">${LAST_DRILL_TEXT[r.lastDrill]}</span></td><td class="num">${snapshot}</td></tr>\n`;
  });
  return html`<table id="fleet">
<thead><tr><th>Store</th><th class="num">Newest verified snapshot</th><th>Last drill</th>
<th class="num">Newest snapshot</th></tr></thead>
<tbody>
${body}</tbody>
</table>`;
}

const FLEET_STYLE = html`
tr.store-unreadable td, tr.store-bad td { background: #fdf0ef; } tr.store-unreadable td.failed { font-weight: 600; }
section.store { border-top: 2px solid var(--line); margin-top: 32px; } h3 { font-size: 15px; margin: 20px 0 6px; }
`;

/**
 * The fleet page: one table of every store, worst first, then one section per store (the single
 * store page's parts, ids prefixed), in the table's order. Inert and escaped like the single page.
 */
export function renderFleetPage(stores: readonly FleetStore[], generatedAt: Date, toolVersion: string): string {
  const rows = rankFleet(stores);
  const anchors = new Map(rows.map((r, i) => [r.store, sectionId(i, r.store.label)]));
  const sections = rows.map((r) => {
    const anchor = anchors.get(r.store)!;
    const title = html`<h2 id="${anchor}">${r.store.label} <code>${r.store.storeUrl}</code></h2>`;
    const content =
      'model' in r.store
        ? storeSections(r.store.model, `${anchor}-`, 'h3')
        : html`<p class="failed">This store could not be read: ${r.store.error}</p>`;
    return html`<section class="store">${title}\n${content}</section>\n`;
  });
  return reportPage({
    title: `Backups and restore drills: ${stores.length} stores`,
    toolVersion,
    style: html`${STYLE}${FLEET_STYLE}`,
    body: html`<header>
<h1>Backups and restore drills: ${stores.length} stores</h1>
<p class="meta">Generated ${utcText(generatedAt, { seconds: true })} by vault-ops ${toolVersion}; worst first</p>
</header>
${fleetTable(rows, anchors)}
${sections}`,
  });
}
