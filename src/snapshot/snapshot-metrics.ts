import { Registry } from 'prom-client';
import type { JobMetrics } from '../observability/metrics.js';
import { lazyCounter, lazyGauge } from '../observability/lazy-metric.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { SnapshotReporter } from './save.js';

/** The snapshot job's metrics, on a registry of its own; a family is exported only when set this run. */
export class SnapshotMetrics implements SnapshotReporter, JobMetrics {
  readonly job = 'vault-ops-snapshot';
  readonly registry = new Registry();
  /** The cluster name Vault reported for the snapshot (the metrics' default `vault_cluster`). */
  clusterName: string | undefined;
  readonly lastSuccess = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_last_success_timestamp_seconds',
    help: 'Unix time of the last snapshot stored and catalogued',
    labelNames: ['store'],
  });
  readonly duration = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_duration_seconds',
    help: 'Wall time of the last successful snapshot save',
    labelNames: ['store'],
  });
  readonly bytes = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_bytes',
    help: 'Size of the last stored snapshot archive',
    labelNames: ['store'],
  });
  readonly failures = lazyCounter(this.registry, {
    name: 'vault_ops_snapshot_failures_total',
    help: 'Snapshot saves that failed, by reason',
    labelNames: ['reason', 'store'],
  });
  readonly lastFailure = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_last_failure_timestamp_seconds',
    help: 'Unix time of the last failed snapshot save',
    labelNames: ['store'],
  });
  readonly shrunk = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_shrunk',
    help: '1 when the last snapshot (or a key prefix) shrank by more than half since the previous one',
  });
  readonly keys = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_keys',
    help: 'Storage keys in the last snapshot by top-level prefix',
    labelNames: ['prefix'],
  });

  /**
   * One event per destination: the `store` label is the store's credential-free URL, so that a
   * run to several stores exports each store's last success (and failures) on its own series.
   */
  saved(manifest: SnapshotManifest, outcome: { shrunk: boolean; store?: string }): void {
    const store = outcome.store === undefined ? {} : { store: outcome.store };
    this.clusterName ??= manifest.cluster.name;
    this.lastSuccess.set(store, Date.parse(manifest.createdAt) / 1000);
    this.duration.set(store, manifest.durationSeconds);
    this.bytes.set(store, manifest.archive.bytes);
    this.shrunk.set(outcome.shrunk ? 1 : 0);
    for (const [prefix, count] of Object.entries(manifest.keyCounts)) this.keys.set({ prefix }, count);
  }

  failed(reason: string, at: Date, store?: string): void {
    this.failures.inc({ reason, ...(store === undefined ? {} : { store }) });
    this.lastFailure.set(store === undefined ? {} : { store }, at.getTime() / 1000);
  }
}
