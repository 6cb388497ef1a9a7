import { Gauge, Registry } from 'prom-client';

/** The restore drill's metrics (design.md §3). */
export class VerifyMetrics {
  readonly registry = new Registry();
  readonly lastSuccess = new Gauge({ name: 'vault_ops_verify_last_success_timestamp_seconds', help: 'Unix time of the last restore drill whose checks all passed', registers: [this.registry] });
  readonly lastRun = new Gauge({ name: 'vault_ops_verify_last_run_timestamp_seconds', help: 'Unix time of the last restore drill, passed or not', registers: [this.registry] });
  readonly passed = new Gauge({ name: 'vault_ops_verify_passed', help: '1 when the last restore drill passed, 0 when it failed or could not run', registers: [this.registry] });
  readonly restoreSeconds = new Gauge({ name: 'vault_ops_verify_restore_seconds', help: 'Total time of the last drill: the recovery time it measured', registers: [this.registry] });
  readonly phaseSeconds = new Gauge({ name: 'vault_ops_verify_phase_seconds', help: 'Time of each phase of the last drill', labelNames: ['phase'], registers: [this.registry] });
  readonly snapshotAge = new Gauge({ name: 'vault_ops_verify_snapshot_age_seconds', help: 'Age of the snapshot the last drill restored', registers: [this.registry] });
}
