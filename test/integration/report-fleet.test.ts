import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { DrillRecord } from '../../src/repository/drill-record.js';
import type { SnapshotManifest } from '../../src/repository/manifest.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { loadInChromium } from '../helpers/headless-chromium.js';
import { decodePng, type DecodedPng } from '../helpers/png.js';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * One page for many clusters: `report --from prod-eu=… --from prod-us=… --from broken=…` over
 * three stores, one of which cannot be read. Rendered in headless Chromium: a table of every store
 * worst first (the unreadable one a red row), then one section per store; `--out` to a store URL
 * publishes the page as an object there.
 */

const VIEW = { width: 1280, height: 2400 };
const SELECTORS = {
  fleetRows: '#fleet tbody tr',
  unreadableRows: '#fleet tbody tr.store-unreadable',
  badRows: '#fleet tbody tr.store-bad',
  okRows: '#fleet tbody tr.store-ok',
  sections: 'section.store',
  catalogueRows: 'section.store table[id$="-catalogue"] tbody tr',
  drillRows: 'section.store table[id$="-drills"] tbody tr',
  charts: 'svg.chart',
  scripts: 'script',
  images: 'img',
};

let vault: VaultTestbed;
let s3: S3Testbed;
let dir: string;
let eu: string;
let us: string;
let env: Record<string, string>;

function drill(m: SnapshotManifest, passed: boolean): DrillRecord {
  return {
    snapshotId: m.id,
    finishedAt: new Date(Date.parse(m.createdAt) + 2000).toISOString(),
    passed,
    mode: 'recovery',
    server: { flavour: vault.server.name, version: vault.server.version },
    checks: [{ name: 'canary', passed, detail: passed ? 'the nonce matches' : 'nonce differs' }],
    timings: { download: 0.1, start: 5, restore: 4, unseal: 5, checks: 0.1, total: 14.2 },
    rtoSeconds: 14.2,
    toolVersion: 'test',
  };
}

async function save(store: string): Promise<SnapshotManifest> {
  const r = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
  assert.equal(r.code, 0, r.stderr);
  return r.json();
}

function pixelsLike(
  png: DecodedPng,
  rgb: [number, number, number],
  box: { x: number; y: number; width: number; height: number },
) {
  let n = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(png.height, Math.ceil(box.y + box.height)); y++)
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(png.width, Math.ceil(box.x + box.width)); x++) {
      const [r, g, b] = png.rgb(x, y);
      if (Math.abs(r - rgb[0]) + Math.abs(g - rgb[1]) + Math.abs(b - rgb[2]) <= 24) n++;
    }
  return n;
}

before(async () => {
  [vault, s3] = await Promise.all([startVault(), startS3()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-report-fleet-'));
  eu = join(dir, 'eu');
  us = join(dir, 'us');
  env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
  await seedSecrets(vault.addr, vault.rootToken, { count: 2 });
  // prod-eu: two snapshots, the newer one verified. prod-us: one snapshot, its only drill failed.
  const euOld = await save(eu);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const euNew = await save(eu);
  const usOnly = await save(us);
  for (const [store, records] of [
    [eu, [drill(euOld, true), drill(euNew, true)]],
    [us, [drill(usOnly, false)]],
  ] as const) {
    const repository = new SnapshotRepository(await openSnapshotStore(store, {}, {}));
    try {
      for (const r of records) await repository.drills.write(r);
    } finally {
      await repository.close();
    }
  }
  await s3.createBucket('audit');
});
after(async () => {
  await Promise.allSettled([vault?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('report: one page for many clusters'), () => {
  test('three stores, one unreadable: a red row first, the page written, the run fails naming it', async () => {
    const out = join(dir, 'fleet.html');
    // The broken store is an S3 bucket behind a port nothing listens on (its own endpoint variable).
    const r = await runCli(
      [
        'report',
        '--from',
        `prod-eu=${eu}`,
        '--from',
        `prod-us=${us}`,
        '--from',
        'broken=s3://vault-snapshots/prod',
        '--out',
        out,
        '--output',
        'json',
      ],
      { ...s3.cliEnv(), VAULT_OPS_STORE_BROKEN_VAULT_OPS_S3_ENDPOINT: 'http://127.0.0.1:9' },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the report was written, but broken \(.+\) could not be read/);
    const result = r.json();
    assert.deepEqual(
      result.stores.map((s: any) => [s.name, s.readable]),
      [
        ['prod-eu', true],
        ['prod-us', true],
        ['broken', false],
      ],
    );
    assert.equal(result.stores[0].snapshots, 2);
    assert.ok(!(await readFile(out, 'utf8')).includes(s3.secretAccessKey), 'no credential on the page');

    const page = await loadInChromium(pathToFileURL(out).href, {
      ...VIEW,
      selectors: SELECTORS,
      boxes: { unreadable: SELECTORS.unreadableRows, ok: SELECTORS.okRows },
    });
    assert.deepEqual(page.problems, [], 'no console error, exception, CSP violation or failed load');
    assert.deepEqual(page.requests, [pathToFileURL(out).href], 'the page requests nothing but itself');
    assert.deepEqual(page.counts, {
      fleetRows: 3,
      unreadableRows: 1,
      badRows: 1, // prod-us: nothing verified, its drill failed
      okRows: 1,
      sections: 3,
      catalogueRows: 3, // two in prod-eu, one in prod-us
      drillRows: 3,
      charts: 4, // size and RTO for each readable store
      scripts: 0,
      images: 0,
    });
    // Worst first: the unreadable store, then prod-us (no verified snapshot), then prod-eu.
    const table = page.dom.slice(page.dom.indexOf('<table id="fleet">'), page.dom.indexOf('</table>'));
    const order = ['broken', 'prod-us', 'prod-eu'].map((name) => table.indexOf(`>${name}</a>`));
    assert.ok(order.every((i) => i > 0) && order[0]! < order[1]! && order[1]! < order[2]!, `${order}`);
    assert.match(table, /cannot be read: /);

    const png = decodePng(page.png);
    await writeFile(join(dir, 'fleet.png'), page.png);
    const [red] = page.boxes.unreadable!;
    const [ok] = page.boxes.ok!;
    assert.ok(red && ok, 'both rows were drawn');
    // The unreadable row: a red-tinted background (#fdf0ef) and red text (#c62828); the healthy row neither.
    assert.ok(pixelsLike(png, [0xfd, 0xf0, 0xef], red) > red.width * red.height * 0.3, 'a red row');
    assert.ok(pixelsLike(png, [0xc6, 0x28, 0x28], red) >= 20, 'its message in red');
    const tinted = pixelsLike(png, [0xfd, 0xf0, 0xef], ok);
    assert.ok(tinted < ok.width * ok.height * 0.05, `a healthy row is not tinted (${tinted} pixels)`);
  });

  test('--out to a store URL publishes the page there (S3), as text/html', async () => {
    const r = await runCli(
      ['report', '--from', `prod-eu=${eu}`, '--from', `prod-us=${us}`, '--out', 's3://audit/vault/fleet.html'],
      s3.cliEnv(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote s3:\/\/audit\/vault\/fleet\.html: 2 stores, 2 read$/m);
    const object = await s3.client().send(new GetObjectCommand({ Bucket: 'audit', Key: 'vault/fleet.html' }));
    assert.equal(object.ContentType, 'text/html; charset=utf-8');
    const page = await object.Body!.transformToString();
    assert.match(page, /<table id="fleet">/);
    assert.ok(page.includes('prod-eu') && page.includes('prod-us'));

    const bare = await runCli(['report', '--from', eu, '--from', us, '--out', 's3://audit/'], s3.cliEnv());
    assert.equal(bare.code, 2, bare.stderr);
    assert.match(bare.stderr, /--out s3:\/\/audit\/: name the page at the end of the store URL/);
  });

  test('the daemon schedules it: jobs/report.yaml run once, its stores and page from the environment', async () => {
    const jobs = join(dir, 'jobs');
    await mkdir(jobs);
    await copyFile(join(import.meta.dirname, '..', '..', 'jobs', 'report.yaml'), join(jobs, 'report.yaml'));
    const out = join(dir, 'daemon-fleet.html');
    const r = await runCli(['daemon', '--jobs', jobs, '--once', 'report'], {
      VAULT_OPS_SNAPSHOT_STORE: `prod-eu=${eu},prod-us=${us}`,
      VAULT_OPS_REPORT_OUT: out,
    });
    assert.equal(r.code, 0, r.stderr);
    const page = await readFile(out, 'utf8');
    assert.match(page, /<table id="fleet">/);
    assert.ok(page.indexOf('>prod-us</a>') < page.indexOf('>prod-eu</a>'), 'worst first');
  });
});
