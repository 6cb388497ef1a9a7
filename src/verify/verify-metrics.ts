import { Registry } from 'prom-client';
import type { JobMetrics } from '../observability/metrics.js';
import { lazyGauge } from '../observability/lazy-metric.js';
import { parseSnapshotId } from '../repository/snapshot-id.js';
import type { DrillReport, DrillReporter } from './drill.js';

/** The restore drill's metrics, on a registry of its own. */
export class VerifyMetrics implements DrillReporter, JobMetrics {
  readonly job = 'vault-ops-verify';
  readonly registry = new Registry();
  clusterName: string | undefined;

  /** `store`: the drilled store's credential-free URL, published as each series' `store` label. */
  constructor(readonly store?: string) {}
  readonly lastSuccess = lazyGauge(this.registry, {
    name: 'vault_ops_verify_last_success_timestamp_seconds',
    help: 'Unix time of the last restore drill whose checks all passed',
  });
  readonly lastRun = lazyGauge(this.registry, {
    name: 'vault_ops_verify_last_run_timestamp_seconds',
    help:
      'Unix time of the last restore drill, passed or not (or of a verify --snapshot unverified run that found ' +
      'every snapshot verified)',
  });
  readonly passed = lazyGauge(this.registry, {
    name: 'vault_ops_verify_passed',
    help: '1 when the last restore drill passed, 0 when it failed or could not run',
  });
  readonly restoreSeconds = lazyGauge(this.registry, {
    name: 'vault_ops_verify_restore_seconds',
    help: 'Total time of the last drill: the recovery time it measured',
  });
  readonly phaseSeconds = lazyGauge(this.registry, {
    name: 'vault_ops_verify_phase_seconds',
    help: 'Time of each phase of the last drill',
    labelNames: ['phase'],
  });
  readonly snapshotAge = lazyGauge(this.registry, {
    name: 'vault_ops_verify_snapshot_age_seconds',
    help: 'Age of the snapshot the last drill restored',
  });

  readonly newestVerifiedAge = lazyGauge(this.registry, {
    name: 'vault_ops_snapshot_newest_verified_age_seconds',
    help: 'Age of the newest snapshot with a passing restore drill, when verify last ran',
  });

  drillFinished(report: DrillReport | undefined, at: Date): void {
    const now = at.getTime() / 1000;
    this.lastRun.set(now);
    this.passed.set(report?.passed ? 1 : 0);
    if (!report) return;
    if (report.passed) this.lastSuccess.set(now);
    this.restoreSeconds.set(report.timings.total);
    for (const [phase, s] of Object.entries(report.timings)) if (phase !== 'total') this.phaseSeconds.set({ phase }, s);
    const created = parseSnapshotId(report.snapshotId)?.time;
    if (created) this.snapshotAge.set(now - created.getTime() / 1000);
  }

  sawCluster(name: string | undefined): void {
    this.clusterName = name;
  }

  nothingToDrill(at: Date): void {
    // The job ran and found nothing to do: that is a run, not a drill that failed (passed stays as it was).
    this.lastRun.set(at.getTime() / 1000);
  }

  newestVerified(createdAt: Date | undefined, at: Date): void {
    // None verified: the family stays unset (absent), which the alert rule treats as too old once long enough.
    if (createdAt) this.newestVerifiedAge.set(Math.max(0, (at.getTime() - createdAt.getTime()) / 1000));
  }
}
