import { Counter, Gauge, Registry } from 'prom-client';
import { registerOnFirstUse } from '../observability/lazy-metric.js';

/** The snapshot job's metrics (design.md §3), on a registry of its own; exported only when set this run. */
export class SnapshotMetrics {
  readonly registry = new Registry();
  readonly lastSuccess = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_last_success_timestamp_seconds', help: 'Unix time of the last snapshot stored and catalogued', registers: [] }));
  readonly duration = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_duration_seconds', help: 'Wall time of the last successful snapshot save', registers: [] }));
  readonly bytes = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_bytes', help: 'Size of the last stored snapshot archive', registers: [] }));
  readonly failures = registerOnFirstUse(this.registry, new Counter({ name: 'vault_ops_snapshot_failures_total', help: 'Snapshot saves that failed, by reason', labelNames: ['reason'], registers: [] }));
  readonly lastFailure = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_last_failure_timestamp_seconds', help: 'Unix time of the last failed snapshot save', registers: [] }));
  readonly shrunk = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_shrunk', help: '1 when the last snapshot (or a key prefix) shrank by more than half since the previous one', registers: [] }));
  readonly keys = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_snapshot_keys', help: 'Storage keys in the last snapshot by top-level prefix', labelNames: ['prefix'], registers: [] }));
}
