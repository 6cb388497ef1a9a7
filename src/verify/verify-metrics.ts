import { Gauge, Registry } from 'prom-client';
import { registerOnFirstUse } from '../observability/lazy-metric.js';

/** The restore drill's metrics (design.md §3). */
export class VerifyMetrics {
  readonly registry = new Registry();
  readonly lastSuccess = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_last_success_timestamp_seconds', help: 'Unix time of the last restore drill whose checks all passed', registers: [] }));
  readonly lastRun = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_last_run_timestamp_seconds', help: 'Unix time of the last restore drill, passed or not', registers: [] }));
  readonly passed = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_passed', help: '1 when the last restore drill passed, 0 when it failed or could not run', registers: [] }));
  readonly restoreSeconds = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_restore_seconds', help: 'Total time of the last drill: the recovery time it measured', registers: [] }));
  readonly phaseSeconds = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_phase_seconds', help: 'Time of each phase of the last drill', labelNames: ['phase'], registers: [] }));
  readonly snapshotAge = registerOnFirstUse(this.registry, new Gauge({ name: 'vault_ops_verify_snapshot_age_seconds', help: 'Age of the snapshot the last drill restored', registers: [] }));
}
