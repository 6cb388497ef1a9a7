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
    assert.equal((text.match(/# TYPE vault_ops_snapshot_last_success_timestamp_seconds/g) ?? []).length, 1, 'each family once');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
