import { Registry } from 'prom-client';
import type { JobMetrics } from '../observability/metrics.js';
import { lazyGauge } from '../observability/lazy-metric.js';
import type { RecoveryResult } from './recover.js';

/** `recover`'s metrics, on a registry of its own (like the other jobs'). Counts and times, never a name. */
export class RecoverMetrics implements JobMetrics {
  readonly job = 'vault-ops-recover';
  readonly registry = new Registry();
  /** The live cluster's name, which the recovery writes into (the default `vault_cluster`). */
  clusterName: string | undefined;
  readonly lastSuccess = lazyGauge(this.registry, {
    name: 'vault_ops_recover_last_success_timestamp_seconds',
    help: 'Unix time of the last recovery that wrote what it planned',
  });
  readonly lastRun = lazyGauge(this.registry, {
    name: 'vault_ops_recover_last_run_timestamp_seconds',
    help: 'Unix time of the last recovery run, succeeded or not (dry runs included)',
  });
  readonly succeeded = lazyGauge(this.registry, {
    name: 'vault_ops_recover_succeeded',
    help: '1 when the last recovery succeeded (or planned, with --dry-run), 0 when it failed',
  });
  readonly items = lazyGauge(this.registry, {
    name: 'vault_ops_recover_items',
    help: 'Items of the last recovery, by what happened to them (written, unchanged)',
    labelNames: ['result'],
  });
  readonly phaseSeconds = lazyGauge(this.registry, {
    name: 'vault_ops_recover_phase_seconds',
    help: 'Time of each phase of the last recovery (download, restore, read, plan, write)',
    labelNames: ['phase'],
  });

  /** How a run ended: its result when it wrote, its plan's timings when it only planned, nothing when it failed. */
  finished(at: Date, outcome: { result?: RecoveryResult; planned?: RecoveryResult['plan'] } | undefined): void {
    const now = at.getTime() / 1000;
    this.lastRun.set(now);
    this.succeeded.set(outcome ? 1 : 0);
    if (!outcome) return;
    const timings: Record<string, number> = outcome.result?.timings ?? outcome.planned?.timings ?? {};
    for (const [phase, s] of Object.entries(timings)) this.phaseSeconds.set({ phase }, s);
    if (outcome.result) {
      this.lastSuccess.set(now);
      const written = outcome.result.items.filter((i) => i.written).length;
      this.items.set({ result: 'written' }, written);
      this.items.set({ result: 'unchanged' }, outcome.result.items.length - written);
    }
  }
}
