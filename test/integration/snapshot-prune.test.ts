import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { silentLogger } from '../../src/observability/logger.js';
import { manifestKey, archiveKey } from '../../src/repository/layout.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { pruneSnapshots } from '../../src/repository/prune.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import type { DrillRecord } from '../../src/repository/drill-record.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { runCli } from '../helpers/run-cli.js';
import { fakeManifest, idAt } from '../helpers/manifest.js';

/**
 * Prune against real versitygw buckets (plain, versioned, object-locked). The catalogue entries
 * are written directly (archive + manifest pairs with chosen creation times), since retention is
 * about time and a real Vault cannot produce snapshots dated over months.
 */
let s3: S3Testbed;
let env: Record<string, string>;
const opts = () => ({ s3Endpoint: s3.endpoint, s3ForcePathStyle: true });

before(async () => {
  s3 = await startS3();
  env = {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    VAULT_OPS_S3_ENDPOINT: s3.endpoint,
    VAULT_OPS_S3_FORCE_PATH_STYLE: 'true',
  };
});
after(async () => s3?.stop());

async function putSnapshot(
  store: SnapshotStore,
  time: Date,
  n: number,
  retention?: { mode: 'GOVERNANCE'; until: Date },
): Promise<string> {
  const id = idAt(time, n);
  const key = archiveKey(store.prefix, id, { encrypted: false });
  const body = `archive ${id}`;
  await store.putBytes(key, body, retention ? { retention } : {});
  const manifest = fakeManifest({
    id,
    createdAt: time.toISOString(),
    archive: { key, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') },
    raft: { index: n, term: 1, configurationIndex: 1, servers: [] },
    cluster: { id: 'c1' },
  });
  await store.putBytes(manifestKey(store.prefix, id), JSON.stringify(manifest), retention ? { retention } : {});
  return id;
}

/** A drill record of `id`, as verify writes it (through the repository: the layout names its key). */
async function putDrill(store: SnapshotStore, id: string, finishedAt: Date, passed: boolean): Promise<string> {
  const record: DrillRecord = {
    snapshotId: id,
    finishedAt: finishedAt.toISOString(),
    passed,
    mode: 'recovery',
    server: { flavour: 'openbao', version: '2.4.0' },
    checks: [{ name: 'archive-integrity', passed, detail: 'test' }],
    timings: { download: 1, start: 2, restore: 3, unseal: 4, checks: 5, total: 15 },
    rtoSeconds: 15,
    toolVersion: 'test',
  };
  return new SnapshotRepository(store).drills.write(record);
}

/** 30 daily snapshots ending yesterday, newest first. */
async function thirtyDays(store: SnapshotStore, retentionFor?: (i: number) => Date | undefined): Promise<string[]> {
  const ids: string[] = [];
  const base = Date.UTC(2026, 9, 1, 3, 0, 0);
  for (let i = 0; i < 30; i++) {
    const until = retentionFor?.(i);
    ids.push(
      await putSnapshot(
        store,
        new Date(base + i * 86_400_000),
        i + 1,
        until ? { mode: 'GOVERNANCE', until } : undefined,
      ),
    );
  }
  return ids.reverse();
}

describe('snapshot prune', () => {
  test('keeps exactly what the policy says; dry run deletes nothing; archive and manifest go together', async () => {
    await s3.createBucket('plain');
    const store = await openSnapshotStore('s3://plain/vault', opts(), env);
    const ids = await thirtyDays(store);
    // Every snapshot drilled once, a day after it was taken; the newest also failed a later drill.
    const drillKeys = new Map<string, string>();
    for (const [i, id] of ids.entries())
      drillKeys.set(id, await putDrill(store, id, new Date(Date.UTC(2026, 9, 31 - i, 4)), true));
    const failedKey = await putDrill(store, ids[0]!, new Date(Date.UTC(2026, 10, 1, 4)), false);
    const dry = await runCli(
      [
        'snapshot',
        'prune',
        '--from',
        's3://plain/vault',
        '--keep-last',
        '3',
        '--keep-weekly',
        '2',
        '--dry-run',
        '--output',
        'json',
      ],
      env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    const plan = dry.json();
    assert.equal(plan.dryRun, true);
    assert.equal((await store.list()).length, 91, 'dry run deleted nothing');
    // keep-last 3 → the 3 newest; keep-weekly 2 → newest of this ISO week (already kept) and of the previous one.
    const kept = plan.keep.map((k: any) => k.id);
    assert.deepEqual(kept.slice(0, 3), ids.slice(0, 3));
    assert.equal(kept.length, 4, JSON.stringify(plan.keep));
    assert.equal(plan.remove.length, 26);
    const removedPlan = plan.remove.find((x: any) => x.id === ids[29]);
    assert.deepEqual(
      removedPlan.keys,
      [`vault/${ids[29]}.manifest.json`, `vault/${ids[29]}.snap`, drillKeys.get(ids[29]!)],
      'manifest first, then the archive, then its drill records',
    );

    const real = await runCli(
      ['snapshot', 'prune', '--from', 's3://plain/vault', '--keep-last', '3', '--keep-weekly', '2', '--output', 'json'],
      env,
    );
    assert.equal(real.code, 0, real.stderr);
    const left = (await store.list()).map((o) => o.key).sort();
    assert.equal(left.length, 4 * 3 + 1, 'archive, manifest and drill record of each kept snapshot, one more drill');
    for (const id of kept) {
      assert.ok(left.includes(`vault/${id}.snap`) && left.includes(`vault/${id}.manifest.json`), id);
      assert.ok(left.includes(drillKeys.get(id)!), `${id}: its drill record stays`);
    }
    assert.ok(left.includes(failedKey));
    const listed = await runCli(['snapshot', 'list', '--from', 's3://plain/vault', '--output', 'json'], env);
    assert.deepEqual(
      listed.json().snapshots.map((s: any) => s.id),
      kept,
    );
    assert.deepEqual(listed.json().incomplete, [], 'no drill record was left behind');
    const newest = listed.json().snapshots[0];
    assert.equal(newest.lastDrill.key, failedKey);
    assert.equal(newest.lastDrill.passed, false);
    assert.equal(newest.lastPassingDrill.key, drillKeys.get(ids[0]!));
    const text = await runCli(['snapshot', 'list', '--from', 's3://plain/vault'], env);
    assert.match(text.stdout, new RegExp(`^${ids[0]} .* FAILED$`, 'm'));
    assert.match(text.stdout, new RegExp(`^${ids[1]} .* verified 2026-10-30 · 15 s$`, 'm'));
    const unverified = await runCli(
      ['snapshot', 'list', '--from', 's3://plain/vault', '--unverified', '--output', 'json'],
      env,
    );
    assert.deepEqual(unverified.json().snapshots, [], 'a later failed drill does not undo a passing one');
    await store.close();
  });

  test('a policy that keeps nothing is refused (exit 2); the newest snapshot is always kept', async () => {
    const r = await runCli(['snapshot', 'prune', '--from', 's3://plain/vault', '--keep-last', '0'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /keep/i);
    const one = await runCli(
      ['snapshot', 'prune', '--from', 's3://plain/vault', '--keep-monthly', '1', '--output', 'json'],
      env,
    );
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.json().keep.length, 1);
    const listed = await runCli(['snapshot', 'list', '--from', 's3://plain/vault', '--output', 'json'], env);
    assert.equal(listed.json().snapshots.length, 1);
  });

  test('versioned bucket: removes every version by id, leaves no delete marker', async () => {
    await s3.createBucket('versioned', { versioning: true });
    const store = await openSnapshotStore('s3://versioned/v', opts(), env);
    await thirtyDays(store);
    const r = await runCli(
      ['snapshot', 'prune', '--from', 's3://versioned/v', '--keep-last', '5', '--output', 'json'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const versions = await s3.client().send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'v/' }));
    assert.equal(versions.DeleteMarkers?.length ?? 0, 0, 'no delete markers');
    assert.equal(versions.Versions?.length, 10);
    await store.close();
  });

  test(
    'object-locked bucket: retained snapshots are skipped with a warning, expired ones removed; incomplete ' +
      'leftovers are cleaned after the grace period',
    async () => {
      await s3.createBucket('locked', { objectLock: true });
      const store = await openSnapshotStore('s3://locked/l', opts(), env);
      const future = new Date(Date.now() + 2 * 86_400_000);
      // The 10 oldest (i < 10) are still under retention.
      const ids = await thirtyDays(store, (i) => (i < 10 ? future : undefined));
      // An orphaned archive (a save that died before its manifest), old enough to clean.
      const orphan = archiveKey(store.prefix, idAt(new Date(Date.UTC(2026, 8, 1)), 0xabc), { encrypted: false });
      await store.putBytes(orphan, 'orphan');
      // A drill record whose snapshot is gone (deleted by hand): a leftover too.
      const orphanDrill = await putDrill(store, idAt(new Date(Date.UTC(2026, 8, 2)), 0xdef), new Date(), true);
      await new Promise((r) => setTimeout(r, 4000)); // older than the 3.6 s grace period below
      const r = await runCli(
        [
          'snapshot',
          'prune',
          '--from',
          's3://locked/l',
          '--keep-last',
          '5',
          '--incomplete-grace-hours',
          '0.001',
          '--output',
          'json',
        ],
        env,
      );
      assert.equal(r.code, 0, r.stderr);
      const report = r.json();
      const locked = report.remove.filter((x: any) => x.status === 'locked').map((x: any) => x.id);
      assert.deepEqual(locked.sort(), ids.slice(20).sort());
      assert.equal(report.remove.filter((x: any) => x.status === 'removed').length, 15);
      assert.ok(report.warnings.some((w: string) => /object-lock retention/.test(w)));
      assert.deepEqual(
        report.incomplete.map((x: any) => [x.key, x.reason, x.status]),
        [
          [orphan, 'archive without a manifest (an interrupted or failed save)', 'removed'],
          [orphanDrill, 'drill record of a snapshot that is not in the catalogue', 'removed'],
        ],
      );
      const listed = await runCli(['snapshot', 'list', '--from', 's3://locked/l', '--output', 'json'], env);
      assert.equal(
        listed.json().snapshots.length,
        15,
        'locked snapshots stay in the catalogue: no delete marker hides them',
      );
      const versions = await s3.client().send(new ListObjectVersionsCommand({ Bucket: 'locked', Prefix: 'l/' }));
      assert.equal(versions.DeleteMarkers?.length ?? 0, 0);
      await store.close();
    },
  );

  test('library: prune never removes the newest snapshot even with keep-last 1 of many in one second', async () => {
    await s3.createBucket('same-second');
    const store = await openSnapshotStore('s3://same-second/x', opts(), env);
    const t = new Date(Date.UTC(2026, 10, 1, 0, 0, 0));
    for (let i = 0; i < 5; i++) await putSnapshot(store, new Date(t.getTime() + i), i + 1);
    const report = await pruneSnapshots(
      new SnapshotRepository(store),
      { policy: { keepLast: 1 }, dryRun: false, incompleteGraceMs: 86_400_000, now: new Date() },
      silentLogger,
    );
    assert.equal(report.keep.length, 1);
    assert.equal(report.keep[0]!.id, idAt(t, 5));
    await store.close();
  });
});
