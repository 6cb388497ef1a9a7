import { Registry } from 'prom-client';
import { lazyCounter, lazyGauge } from '../observability/lazy-metric.js';
import type { JobMetrics } from '../observability/metrics.js';
import type { PruneReport, PruneReporter } from './prune.js';

/** `snapshot prune`'s metrics, on a registry of its own; a family is exported only when set this run. */
export class PruneMetrics implements PruneReporter, JobMetrics {
  readonly job = 'vault-ops-prune';
  readonly registry = new Registry();
  clusterName: string | undefined;

  /** `store`: the pruned store's credential-free URL, published as each series' `store` label. */
  constructor(readonly store?: string) {}
  readonly lastSuccess = lazyGauge(this.registry, {
    name: 'vault_ops_prune_last_success_timestamp_seconds',
    help: 'Unix time of the last prune that removed everything it planned to',
  });
  readonly snapshots = lazyGauge(this.registry, {
    name: 'vault_ops_prune_snapshots',
    help:
      'Snapshots of the last prune by outcome: kept, removed, locked (under object lock, kept), overwritten ' +
      '(a key with several versions, kept), untrusted or anomaly (set apart by the catalogue, never touched)',
    labelNames: ['outcome'],
  });
  readonly failures = lazyCounter(this.registry, {
    name: 'vault_ops_prune_failures_total',
    help: 'Prunes that failed or could not remove an object, by reason',
    labelNames: ['reason'],
  });
  readonly lastFailure = lazyGauge(this.registry, {
    name: 'vault_ops_prune_last_failure_timestamp_seconds',
    help: 'Unix time of the last failed prune',
  });

  pruned(report: PruneReport, at: Date): void {
    this.lastSuccess.set(at.getTime() / 1000);
    this.snapshots.set({ outcome: 'kept' }, report.keep.length);
    this.snapshots.set({ outcome: 'removed' }, report.remove.filter((r) => r.status === 'removed').length);
    this.snapshots.set({ outcome: 'locked' }, report.remove.filter((r) => r.status === 'locked').length);
    this.snapshots.set({ outcome: 'overwritten' }, report.remove.filter((r) => r.status === 'overwritten').length);
    this.snapshots.set({ outcome: 'untrusted' }, report.setApart.filter((s) => s.trust === 'untrusted').length);
    this.snapshots.set({ outcome: 'anomaly' }, report.setApart.filter((s) => s.trust === 'anomaly').length);
  }

  sawCluster(name: string | undefined): void {
    this.clusterName = name;
  }

  failed(reason: string, at: Date): void {
    this.failures.inc({ reason });
    this.lastFailure.set(at.getTime() / 1000);
  }
}
