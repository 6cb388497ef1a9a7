import { Counter, Gauge, Registry } from 'prom-client';
import type { JobMetrics } from '../observability/metrics.js';
import { registerOnFirstUse } from '../observability/lazy-metric.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { SnapshotReporter } from './save.js';

/** The snapshot job's metrics, on a registry of its own; a family is exported only when set this run. */
export class SnapshotMetrics implements SnapshotReporter, JobMetrics {
  readonly job = 'vault-ops-snapshot';
  readonly registry = new Registry();
  readonly lastSuccess = registerOnFirstUse(
    this.registry,
    new Gauge({
      name: 'vault_ops_snapshot_last_success_timestamp_seconds',
      help: 'Unix time of the last snapshot stored and catalogued',
      registers: [],
    }),
  );
  readonly duration = registerOnFirstUse(
    this.registry,
    new Gauge({
      name: 'vault_ops_snapshot_duration_seconds',
      help: 'Wall time of the last successful snapshot save',
      registers: [],
    }),
  );
  readonly bytes = registerOnFirstUse(
    this.registry,
    new Gauge({ name: 'vault_ops_snapshot_bytes', help: 'Size of the last stored snapshot archive', registers: [] }),
  );
  readonly failures = registerOnFirstUse(
    this.registry,
    new Counter({
      name: 'vault_ops_snapshot_failures_total',
      help: 'Snapshot saves that failed, by reason',
      labelNames: ['reason'],
      registers: [],
    }),
  );
  readonly lastFailure = registerOnFirstUse(
    this.registry,
    new Gauge({
      name: 'vault_ops_snapshot_last_failure_timestamp_seconds',
      help: 'Unix time of the last failed snapshot save',
      registers: [],
    }),
  );
  readonly shrunk = registerOnFirstUse(
    this.registry,
    new Gauge({
      name: 'vault_ops_snapshot_shrunk',
      help: '1 when the last snapshot (or a key prefix) shrank by more than half since the previous one',
      registers: [],
    }),
  );
  readonly keys = registerOnFirstUse(
    this.registry,
    new Gauge({
      name: 'vault_ops_snapshot_keys',
      help: 'Storage keys in the last snapshot by top-level prefix',
      labelNames: ['prefix'],
      registers: [],
    }),
  );

  saved(manifest: SnapshotManifest, outcome: { shrunk: boolean }): void {
    this.lastSuccess.set(Date.parse(manifest.createdAt) / 1000);
    this.duration.set(manifest.durationSeconds);
    this.bytes.set(manifest.archive.bytes);
    this.shrunk.set(outcome.shrunk ? 1 : 0);
    for (const [prefix, count] of Object.entries(manifest.keyCounts)) this.keys.set({ prefix }, count);
  }

  failed(reason: string, at: Date): void {
    this.failures.inc({ reason });
    this.lastFailure.set(at.getTime() / 1000);
  }
}
