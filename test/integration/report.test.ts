import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { DrillRecord } from '../../src/repository/drill-record.js';
import type { SnapshotManifest } from '../../src/repository/manifest.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { loadInChromium, type LoadedPage } from '../helpers/headless-chromium.js';
import { decodePng, type DecodedPng } from '../helpers/png.js';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * The auditor's page of a real store — snapshots taken from a real server, drill records beside
 * them — rendered by Debian's headless Chromium: it must load without a single console error,
 * CSP violation or request besides itself, hold one row per snapshot and per drill and both
 * charts, and its screenshot must show them (the failed drill's red square where the DOM says).
 * Drill records are written through the repository, as `verify` writes them.
 */

const HOSTILE = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">`;
const VIEW = { width: 1280, height: 1800 };
const SELECTORS = {
  catalogueRows: '#catalogue tbody tr',
  failedCatalogueRows: '#catalogue tbody tr.drill-failed',
  drillRows: '#drills tbody tr',
  failedDrillRows: '#drills tbody tr.drill-failed',
  charts: 'svg.chart',
  sizeMarkers: '#chart-size circle.marker',
  rtoMarkers: '#chart-rto .marker',
  failedMarkers: '#chart-rto rect.failed',
  sizeLine: '#chart-size polyline.line',
  sizeAxisLabels: '#chart-size text.tick',
  rtoAxisLabels: '#chart-rto text.tick',
  scripts: 'script',
  images: 'img',
  summaryItems: '#summary > div',
  emptyNotes: 'p.empty',
};

let vault: VaultTestbed;
let dir: string;
let store: string;
let env: Record<string, string>;
const saved: SnapshotManifest[] = [];

function drill(m: SnapshotManifest, afterSeconds: number, passed: boolean, rtoSeconds: number): DrillRecord {
  return {
    snapshotId: m.id,
    finishedAt: new Date(Date.parse(m.createdAt) + afterSeconds * 1000).toISOString(),
    passed,
    mode: 'recovery',
    server: { flavour: vault.server.name, version: vault.server.version },
    checks: [
      { name: 'archive-integrity', passed: true, detail: `sha256 ${m.archive.sha256.slice(0, 16)}… matches` },
      { name: 'canary', passed, detail: passed ? 'the nonce matches' : `nonce differs: ${HOSTILE}` },
    ],
    timings: { download: 0.1, start: 5, restore: 4, unseal: 5, checks: 0.1, total: rtoSeconds },
    rtoSeconds,
    toolVersion: 'test',
  };
}

/** Pixels of `png` within `tolerance` of `rgb`, inside a box. */
function pixelsLike(
  png: DecodedPng,
  rgb: [number, number, number],
  box: { x: number; y: number; width: number; height: number },
  tolerance = 24,
): number {
  let n = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(png.height, Math.ceil(box.y + box.height)); y++)
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(png.width, Math.ceil(box.x + box.width)); x++) {
      const [r, g, b] = png.rgb(x, y);
      if (Math.abs(r - rgb[0]) + Math.abs(g - rgb[1]) + Math.abs(b - rgb[2]) <= tolerance) n++;
    }
  return n;
}

/** A real picture, not a blank or single-colour frame: enough ink and enough colours. */
function assertNotBlank(png: DecodedPng): void {
  assert.deepEqual([png.width, png.height], [VIEW.width, VIEW.height]);
  const colours = new Set<number>();
  let ink = 0;
  for (let y = 0; y < png.height; y += 2)
    for (let x = 0; x < png.width; x += 2) {
      const [r, g, b] = png.rgb(x, y);
      colours.add((r << 16) | (g << 8) | b);
      if (r + g + b < 600) ink++;
    }
  const samples = (png.width / 2) * (png.height / 2);
  assert.ok(colours.size > 50, `only ${colours.size} colours: a blank or flat screenshot`);
  assert.ok(ink / samples > 0.01, `only ${((100 * ink) / samples).toFixed(2)}% of the screenshot is drawn`);
}

function assertClean(page: LoadedPage, file: string): void {
  assert.deepEqual(page.problems, [], 'no console error, exception, CSP violation or failed load');
  assert.deepEqual(page.requests, [pathToFileURL(file).href], 'the page requests nothing but itself');
}

before(async () => {
  vault = await startVault();
  console.log(`testbed: ${vault.version}`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-report-test-'));
  store = join(dir, 'store');
  env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
  // Three snapshots of a growing cluster, so that the size chart has a slope.
  for (let i = 0; i < 3; i++) {
    await seedSecrets(vault.addr, vault.rootToken, { count: 4, valueBytes: 150_000, prefix: `grow${i}` });
    const r = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    saved.push(r.json());
    await new Promise((resolve) => setTimeout(resolve, 1100)); // distinct creation seconds
  }
  const repository = new SnapshotRepository(await openSnapshotStore(store, {}, {}));
  try {
    const [s1, s2, s3] = saved as [SnapshotManifest, SnapshotManifest, SnapshotManifest];
    await repository.drills.write(drill(s1, 1, true, 14.2));
    await repository.drills.write(drill(s2, 1, true, 15.8));
    await repository.drills.write(drill(s3, 1, false, 21.5));
    await repository.drills.write(drill(s1, 3, true, 13.1)); // the weekly drill of the oldest
  } finally {
    await repository.close();
  }
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('report'), () => {
  test('a real store`s page loads clean in Chromium with every row, both charts and the failed drill', async () => {
    const out = join(dir, 'site', 'vault-backups.html');
    await mkdir(join(dir, 'site'));
    // No Vault address, no token: the page comes from the store alone.
    const r = await runCli(['report', '--from', store, '--out', out, '--output', 'json'], {});
    assert.equal(r.code, 0, r.stderr);
    const result = r.json();
    assert.equal(result.out, out);
    assert.equal(result.snapshots, 3);
    assert.deepEqual(result.drills, { total: 4, passed: 3, failed: 1 });
    assert.equal((await stat(out)).mode & 0o777, 0o644);
    const html = await readFile(out, 'utf8');
    assert.equal(result.bytes, Buffer.byteLength(html));
    for (const m of saved) assert.ok(html.includes(m.id), m.id);

    const page = await loadInChromium(pathToFileURL(out).href, {
      ...VIEW,
      selectors: SELECTORS,
      boxes: { failed: SELECTORS.failedMarkers, sizeMarkers: SELECTORS.sizeMarkers },
    });
    assertClean(page, out);
    assert.deepEqual(page.counts, {
      catalogueRows: 3,
      failedCatalogueRows: 1, // the newest snapshot: its only drill failed
      drillRows: 4,
      failedDrillRows: 1,
      charts: 2,
      sizeMarkers: 3,
      rtoMarkers: 4,
      failedMarkers: 1,
      sizeLine: 1,
      sizeAxisLabels: page.counts.sizeAxisLabels, // y ticks depend on the sizes: checked below
      rtoAxisLabels: 4 + 3, // 0, 10, 20, 30 s and three time labels
      scripts: 0, // the hostile check detail is text, not an element
      images: 0,
      summaryItems: 6,
      emptyNotes: 0,
    });
    assert.ok(page.counts.sizeAxisLabels! >= 3 + 3, `${page.counts.sizeAxisLabels} size axis labels`);
    assert.match(page.dom, /<title>Backups and restore drills: [^<]*<\/title>/, 'no script renamed the page');
    assert.ok(page.dom.includes('nonce differs: &lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;img src=x'));
    const verified = page.dom.slice(page.dom.indexOf('Newest verified snapshot'));
    assert.ok(verified.startsWith(`Newest verified snapshot</dt><dd><span class="id">${saved[1]!.id}</span>`));
    const flavour = vault.server.name === 'openbao' ? 'OpenBao' : 'HashiCorp Vault';
    assert.ok(page.dom.includes(`${flavour} ${vault.server.version}`), 'the server each snapshot came from');

    const png = decodePng(page.png);
    assertNotBlank(png);
    await writeFile(join(dir, 'report.png'), page.png);
    const [square] = page.boxes.failed!;
    assert.ok(square && square.width >= 7 && square.y + square.height < VIEW.height, JSON.stringify(square));
    assert.ok(pixelsLike(png, [0xc6, 0x28, 0x28], square) >= 40, 'the failed drill is a red square on the RTO chart');
    for (const dot of page.boxes.sizeMarkers!)
      assert.ok(pixelsLike(png, [0x1a, 0x73, 0xe8], dot) >= 20, `a blue dot at ${JSON.stringify(dot)}`);
  });

  test('an empty store renders a page that says so, and loads clean', async () => {
    const empty = join(dir, 'empty-store');
    await mkdir(empty);
    const out = join(dir, 'empty.html');
    const r = await runCli(['report', '--from', empty, '--out', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*empty\.html: 0 snapshots, 0 restore drills \(0 passed, 0 failed\) from /);
    const page = await loadInChromium(pathToFileURL(out).href, { ...VIEW, selectors: SELECTORS });
    assertClean(page, out);
    assert.equal(page.counts.catalogueRows, 0);
    assert.equal(page.counts.charts, 0);
    assert.equal(page.counts.emptyNotes, 4, 'no snapshots, no drills, nothing to chart twice');
    assert.match(page.dom, /no snapshot has a passing restore drill/);
    assertNotBlank(decodePng(page.png));
  });

  test('the check itself sees what a page must not do: a script and an image blocked by the same CSP', async () => {
    const bad = join(dir, 'bad.html');
    await writeFile(
      bad,
      `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; ` +
        `style-src 'unsafe-inline'"><title>inert</title></head><body><p>x</p>` +
        `<script>document.title = 'ran'</script><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></body></html>`,
    );
    const page = await loadInChromium(pathToFileURL(bad).href, { width: 400, height: 300, selectors: {} });
    assert.ok(
      page.problems.some((p) => /inline script violates the following Content Security Policy/.test(p)),
      page.problems.join('\n'),
    );
    assert.ok(
      page.problems.some((p) => /Loading the image .* violates/.test(p)),
      page.problems.join('\n'),
    );
    assert.match(page.dom, /<title>inert<\/title>/, 'the script did not run');
  });

  test('--out is required, and a folder as --out is refused (exit 2) without touching it', async () => {
    const missing = await runCli(['report', '--from', store], env);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^error: report needs --out FILE\|URL \(or VAULT_OPS_REPORT_OUT, or out: in the config file\), e\.g\. /,
    );
    const folder = await runCli(['report', '--from', store, '--out', dir], env);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /^error: --out .* is a directory: name the HTML file to write/);
  });

  test('a drill record whose snapshot is gone (pruned) is still on the page, marked as such', async () => {
    // A copy of the store plus one drill of a snapshot that is not in it.
    const withOrphan = join(dir, 'with-orphan');
    await cp(store, withOrphan, { recursive: true });
    const gone = { ...saved[0]!, id: '20261101T000000Z-90de00', createdAt: '2026-11-01T00:00:00.000Z' };
    const repository = new SnapshotRepository(await openSnapshotStore(withOrphan, {}, {}));
    try {
      await repository.drills.write(drill(gone, 60, true, 18));
    } finally {
      await repository.close();
    }
    const out = join(dir, 'with-orphan.html');
    const r = await runCli(['report', '--from', withOrphan, '--out', out, '--output', 'json'], {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().snapshots, 3);
    assert.deepEqual(r.json().drills, { total: 5, passed: 4, failed: 1 });
    const html = await readFile(out, 'utf8');
    assert.ok(html.includes(gone.id));
    assert.match(html, /no longer in the catalogue/);
  });
});
