import { Counter, Gauge, Registry } from 'prom-client';
import type { JobMetrics } from '../../observability/metrics.js';
import { registerOnFirstUse } from '../../observability/lazy-metric.js';
import type { QuarantinedSecret, RotationReporter, SecretOutcome } from './types.js';

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Rotation metrics: the Prometheus side of the RotationReporter the run reports to. Labels never
 * carry values; per-secret series name mount/path. Several runs may share a registry (the counters
 * then add up), which is how the daemon-less tests observe two runs in a row.
 */
export class RotationMetrics implements RotationReporter, JobMetrics {
  readonly job = 'vault-ops-rotate-kv';
  readonly total: Counter<'result'>;
  readonly lastSuccess: Gauge;
  readonly quarantined: Gauge<'mount' | 'path'>;
  readonly quarantinedCount: Gauge;
  /** The cluster name Vault reports (the metrics' default `vault_cluster`), set by the caller. */
  clusterName: string | undefined;

  constructor(readonly registry: Registry = new Registry()) {
    this.total = getOrCreate(
      registry,
      'vault_ops_rotation_total',
      () =>
        new Counter({
          name: 'vault_ops_rotation_total',
          help: 'KV secret rotation attempts by result',
          labelNames: ['result'] as const,
          registers: [registry],
        }),
    );
    // Exported only when set: a failed run must not push a 0 over the last success time.
    this.lastSuccess = getOrCreate(registry, 'vault_ops_rotation_last_success_timestamp_seconds', () =>
      registerOnFirstUse(
        registry,
        new Gauge({
          name: 'vault_ops_rotation_last_success_timestamp_seconds',
          help: 'End of the last rotation run in which no secret failed (Unix seconds)',
          registers: [],
        }),
      ),
    );
    this.quarantined = getOrCreate(
      registry,
      'vault_ops_rotation_quarantined',
      () =>
        new Gauge({
          name: 'vault_ops_rotation_quarantined',
          help: '1 for each KV secret quarantined (skipped until --force or rotate kv clear)',
          labelNames: ['mount', 'path'] as const,
          registers: [registry],
        }),
    );
    this.quarantinedCount = getOrCreate(
      registry,
      'vault_ops_rotation_quarantined_secrets',
      () =>
        new Gauge({
          name: 'vault_ops_rotation_quarantined_secrets',
          help: 'Number of quarantined KV secrets seen by the last run',
          registers: [registry],
        }),
    );
  }

  /** Count one run's outcomes; `quarantinedIds` are all secrets quarantined after the run. */
  runFinished(outcomes: readonly SecretOutcome[], quarantinedIds: readonly QuarantinedSecret[], finished: Date): void {
    for (const o of outcomes) {
      if (o.outcome === 'not-due') continue;
      this.total.inc({ result: o.outcome === 'failed' && o.failedStep === 'test' ? 'test-failed' : o.outcome });
    }
    this.quarantined.reset();
    for (const q of quarantinedIds) this.quarantined.set({ mount: q.mount, path: q.path }, 1);
    this.quarantinedCount.set(quarantinedIds.length);
    if (!outcomes.some((o) => o.outcome === 'failed' || o.outcome === 'quarantined'))
      this.lastSuccess.set(finished.getTime() / 1000);
  }
}
