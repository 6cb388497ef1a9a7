import { Counter, Gauge, type Registry } from 'prom-client';
import { registerOnFirstUse } from '../../observability/lazy-metric.js';
import type { SecretOutcome } from './types.js';

/**
 * Rotation metrics, kept in the Registry the caller passes in (the CLI/daemon decides where they
 * go: textfile or Pushgateway). Labels never carry values; per-secret series name mount/path.
 */
export interface RotationMetrics {
  total: Counter<'result'>;
  lastSuccess: Gauge;
  quarantined: Gauge<'mount' | 'path'>;
  quarantinedCount: Gauge;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function rotationMetrics(registry: Registry): RotationMetrics {
  return {
    total: getOrCreate(registry, 'vault_ops_rotation_total', () => new Counter({ name: 'vault_ops_rotation_total', help: 'KV secret rotation attempts by result', labelNames: ['result'] as const, registers: [registry] })),
    // Exported only when set: a failed run must not push a 0 over the last success time.
    lastSuccess: getOrCreate(registry, 'vault_ops_rotation_last_success_timestamp_seconds', () => registerOnFirstUse(registry, new Gauge({ name: 'vault_ops_rotation_last_success_timestamp_seconds', help: 'End of the last rotation run in which no secret failed (Unix seconds)', registers: [] }))),
    quarantined: getOrCreate(registry, 'vault_ops_rotation_quarantined', () => new Gauge({ name: 'vault_ops_rotation_quarantined', help: '1 for each KV secret quarantined (skipped until --force or rotate kv clear)', labelNames: ['mount', 'path'] as const, registers: [registry] })),
    quarantinedCount: getOrCreate(registry, 'vault_ops_rotation_quarantined_secrets', () => new Gauge({ name: 'vault_ops_rotation_quarantined_secrets', help: 'Number of quarantined KV secrets seen by the last run', registers: [registry] })),
  };
}

/** Count one run's outcomes; `quarantinedIds` are all secrets quarantined after the run. */
export function observeRun(metrics: RotationMetrics, outcomes: readonly SecretOutcome[], quarantinedIds: ReadonlyArray<{ mount: string; path: string }>, finished: Date): void {
  for (const o of outcomes) {
    if (o.outcome === 'not-due') continue;
    metrics.total.inc({ result: o.outcome === 'failed' && o.failedStep === 'test' ? 'test-failed' : o.outcome });
  }
  metrics.quarantined.reset();
  for (const q of quarantinedIds) metrics.quarantined.set({ mount: q.mount, path: q.path }, 1);
  metrics.quarantinedCount.set(quarantinedIds.length);
  if (!outcomes.some((o) => o.outcome === 'failed' || o.outcome === 'quarantined')) metrics.lastSuccess.set(finished.getTime() / 1000);
}
