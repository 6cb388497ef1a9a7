import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { UNKNOWN_CLUSTER } from '../observability/metrics.js';
import type { JobRun } from './job-process.js';

/**
 * The daemon's own metrics (served on /metrics); each job's metrics go where its options say. Every
 * series carries `vault_cluster` like the jobs' own: one daemon (one job folder) per cluster is the
 * model, so the name is the daemon's (`VAULT_OPS_VAULT_CLUSTER_NAME`, or its config file's), the same
 * its jobs are given. The daemon never talks to Vault, so it cannot learn the name Vault reports.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly runs = new Counter({
    name: 'vault_ops_daemon_job_runs_total',
    help: 'Job runs by result (success, failed, timeout, aborted)',
    labelNames: ['job_name', 'result'],
    registers: [this.registry],
  });
  readonly skipped = new Counter({
    name: 'vault_ops_daemon_job_skipped_total',
    help: 'Scheduled runs not started, by reason (overlap: the previous run was still going)',
    labelNames: ['job_name', 'reason'],
    registers: [this.registry],
  });
  readonly lastRun = new Gauge({
    name: 'vault_ops_daemon_job_last_run_timestamp_seconds',
    help: 'Unix time the last run of the job finished',
    labelNames: ['job_name'],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'vault_ops_daemon_job_last_success_timestamp_seconds',
    help: 'Unix time the last successful run of the job finished',
    labelNames: ['job_name'],
    registers: [this.registry],
  });
  readonly duration = new Gauge({
    name: 'vault_ops_daemon_job_last_duration_seconds',
    help: 'Wall time of the last run of the job',
    labelNames: ['job_name'],
    registers: [this.registry],
  });
  readonly failures = new Gauge({
    name: 'vault_ops_daemon_job_consecutive_failures',
    help: 'Runs of the job that did not succeed, in a row',
    labelNames: ['job_name'],
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'vault_ops_daemon_job_running',
    help: '1 while a run of the job is going (or waiting for its jitter)',
    labelNames: ['job_name'],
    registers: [this.registry],
  });
  readonly nextRun = new Gauge({
    name: 'vault_ops_daemon_job_next_run_timestamp_seconds',
    help: 'Unix time of the next scheduled start (before jitter)',
    labelNames: ['job_name'],
    registers: [this.registry],
  });

  /** Unnamed, it says `unknown`, as a job's metrics do when the run never learned its cluster. */
  constructor(vaultCluster: string = UNKNOWN_CLUSTER) {
    this.registry.setDefaultLabels({ vault_cluster: vaultCluster });
    collectDefaultMetrics({ register: this.registry, prefix: 'vault_ops_daemon_' });
  }

  recordRun(run: JobRun, consecutiveFailures: number): void {
    const labels = { job_name: run.job };
    this.runs.inc({ ...labels, result: run.result });
    this.lastRun.set(labels, run.finishedAt.getTime() / 1000);
    if (run.result === 'success') this.lastSuccess.set(labels, run.finishedAt.getTime() / 1000);
    this.duration.set(labels, run.durationSeconds);
    this.failures.set(labels, consecutiveFailures);
  }
}
