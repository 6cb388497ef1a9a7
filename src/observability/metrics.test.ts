import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SnapshotMetrics } from '../snapshot/snapshot-metrics.js';
import { writeTextfile } from './metrics.js';

test('textfile: a failed run keeps the last success time of the previous run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vault-ops-metrics-'));
  try {
    const file = join(dir, 'vault_ops.prom');
    const ok = new SnapshotMetrics();
    ok.lastSuccess.set(1_800_000_000);
    ok.bytes.set(12345);
    await writeTextfile(ok.registry, file);
    const failed = new SnapshotMetrics();
    failed.failures.inc({ reason: 'store' });
    failed.lastFailure.set(1_800_003_600);
    await writeTextfile(failed.registry, file);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^vault_ops_snapshot_last_success_timestamp_seconds 1800000000$/m, 'carried over');
    assert.match(text, /^vault_ops_snapshot_failures_total\{reason="store"\} 1$/m);
    assert.match(text, /^vault_ops_snapshot_last_failure_timestamp_seconds 1800003600$/m);
    assert.equal(
      (text.match(/# TYPE vault_ops_snapshot_last_success_timestamp_seconds/g) ?? []).length,
      1,
      'each family once',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'reporters record what the library reports: a drill that could not run exports only its run time and passed ' + '0',
  async () => {
    const { VerifyMetrics } = await import('../verify/verify-metrics.js');
    const couldNotRun = new VerifyMetrics();
    couldNotRun.drillFinished(undefined, new Date(1_800_000_000_000));
    const text = await couldNotRun.registry.metrics();
    assert.match(text, /^vault_ops_verify_last_run_timestamp_seconds 1800000000$/m);
    assert.match(text, /^vault_ops_verify_passed 0$/m);
    assert.doesNotMatch(text, /vault_ops_verify_last_success_timestamp_seconds/, 'no 0 pushed over the last success');

    const passed = new VerifyMetrics();
    const timings = { download: 1, start: 2, restore: 3, unseal: 4, checks: 5, total: 15 };
    passed.drillFinished(
      { snapshotId: '20270115T000000Z-abcdef', mode: 'recovery', passed: true, checks: [], timings },
      new Date(Date.UTC(2027, 0, 15, 1)),
    );
    const ok = await passed.registry.metrics();
    assert.match(ok, /^vault_ops_verify_passed 1$/m);
    assert.match(ok, /^vault_ops_verify_restore_seconds 15$/m);
    assert.match(ok, /^vault_ops_verify_phase_seconds\{phase="unseal"\} 4$/m);
    assert.match(ok, /^vault_ops_verify_snapshot_age_seconds 3600$/m);
    assert.doesNotMatch(ok, /vault_ops_snapshot_newest_verified_age_seconds/, 'set only once the catalogue was read');
  },
);

test('verify reporter: the newest verified snapshot age; unset when none; nothing to drill is a run', async () => {
  const { VerifyMetrics } = await import('../verify/verify-metrics.js');
  const at = new Date(Date.UTC(2027, 0, 15, 12));
  const m = new VerifyMetrics();
  m.newestVerified(new Date(Date.UTC(2027, 0, 14, 12)), at);
  assert.match(await m.registry.metrics(), /^vault_ops_snapshot_newest_verified_age_seconds 86400$/m);
  const none = new VerifyMetrics();
  none.newestVerified(undefined, at);
  none.nothingToDrill(at);
  const text = await none.registry.metrics();
  assert.doesNotMatch(text, /vault_ops_snapshot_newest_verified_age_seconds/, 'absent, never 0');
  assert.match(text, /^vault_ops_verify_last_run_timestamp_seconds 1800014400$/m);
  assert.doesNotMatch(text, /vault_ops_verify_passed/, 'nothing drilled: no pass or fail');
});

test('reporters: a failed save counts its reason and time, and leaves the success families unexported', async () => {
  const failed = new SnapshotMetrics();
  failed.failed('vault-request', new Date(1_800_000_000_000));
  const text = await failed.registry.metrics();
  assert.match(text, /^vault_ops_snapshot_failures_total\{reason="vault-request"\} 1$/m);
  assert.doesNotMatch(text, /vault_ops_snapshot_last_success_timestamp_seconds|vault_ops_snapshot_bytes/);
});

test('groupByStore: one push per store, the series without a store in each, nothing lost or mixed', async () => {
  const { groupByStore } = await import('./metrics.js');
  const m = new SnapshotMetrics();
  const manifest = {
    createdAt: '2027-01-15T00:00:00Z',
    durationSeconds: 2,
    archive: { bytes: 9 },
    keyCounts: {},
    cluster: { name: 'vault-cluster-1' },
  };
  m.saved(manifest as never, { shrunk: false, store: 's3://bucket/eu' });
  m.saved(manifest as never, { shrunk: false, store: 'file:///srv/a "quoted" dir' });
  m.registry.setDefaultLabels({ vault_cluster: 'prod-eu' });
  const groups = groupByStore(await m.registry.metrics(), { vault_cluster: 'prod-eu' });
  assert.deepEqual(
    groups.map((g) => g.labels),
    [
      { vault_cluster: 'prod-eu', store: 's3://bucket/eu' },
      { vault_cluster: 'prod-eu', store: 'file:///srv/a "quoted" dir' },
    ],
  );
  for (const g of groups) {
    const stores = [...g.text.matchAll(/store="((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!.replace(/\\"/g, '"'));
    assert.ok(stores.length >= 3, g.text);
    assert.ok(
      stores.every((s) => s === g.labels.store),
      `only its own store's series: ${g.text}`,
    );
    assert.match(g.text, /^vault_ops_snapshot_shrunk\{vault_cluster="prod-eu"\} 0$/m, 'the run-wide series in each');
  }
  const { PruneMetrics } = await import('../repository/prune-metrics.js');
  const none = new PruneMetrics();
  none.registry.setDefaultLabels({ vault_cluster: 'c' });
  none.lastSuccess.set(1);
  assert.deepEqual(
    groupByStore(await none.registry.metrics(), { vault_cluster: 'c' }).map((g) => g.labels),
    [{ vault_cluster: 'c' }],
    'no store named: one group',
  );
});

test('publishMetrics: vault_cluster (configured, else seen, else unknown) and the store on every series', async () => {
  const { publishMetrics } = await import('./metrics.js');
  const { PruneMetrics } = await import('../repository/prune-metrics.js');
  const { silentLogger: logger } = await import('./logger.js');
  const dir = await mkdtemp(join(tmpdir(), 'vault-ops-metrics-'));
  try {
    const file = join(dir, 'prune.prom');
    const seen = new PruneMetrics('s3://bucket/eu');
    seen.sawCluster('vault-cluster-1234');
    seen.pruned(
      { keep: [], remove: [], setApart: [], incomplete: [], dryRun: false, warnings: [] } as never,
      new Date(),
    );
    await publishMetrics(seen, { metricsTextfile: file }, logger);
    const text = await readFile(file, 'utf8');
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(samples.length > 0);
    for (const line of samples) {
      assert.match(line, /vault_cluster="vault-cluster-1234"/, line);
      assert.match(line, /store="s3:\/\/bucket\/eu"/, line);
    }
    const named = new PruneMetrics('s3://bucket/eu');
    named.sawCluster('vault-cluster-1234');
    named.failed('store', new Date());
    await publishMetrics(named, { metricsTextfile: file, vaultClusterName: 'prod-eu' }, logger);
    assert.match(await readFile(file, 'utf8'), /^vault_ops_prune_failures_total\{.*vault_cluster="prod-eu".*\} 1$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
