import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DaemonMetrics } from './daemon-metrics.js';

/** Every sample line of the exposition (no # HELP / # TYPE). */
async function samples(metrics: DaemonMetrics): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('daemon metrics', () => {
  const run = {
    job: 'save',
    runId: 'r',
    reason: 'schedule' as const,
    startedAt: new Date(1_000),
    finishedAt: new Date(3_000),
    durationSeconds: 2,
    result: 'success' as const,
  };

  test('every series, the process ones too, carries the vault_cluster the daemon was given', async () => {
    const metrics = new DaemonMetrics('prod-eu');
    metrics.recordRun(run, 0);
    const lines = await samples(metrics);
    assert.ok(lines.some((l) => l.startsWith('vault_ops_daemon_job_runs_total{')));
    assert.ok(lines.some((l) => l.startsWith('vault_ops_daemon_process_cpu_')));
    for (const line of lines) assert.match(line, /\{[^}]*vault_cluster="prod-eu"[^}]*\} /, line);
    assert.ok(
      lines.includes('vault_ops_daemon_job_runs_total{job_name="save",result="success",vault_cluster="prod-eu"} 1'),
      lines.join('\n'),
    );
  });

  test('a daemon nobody named says vault_cluster="unknown", as a job that never learned its cluster does', async () => {
    const metrics = new DaemonMetrics();
    metrics.recordRun(run, 0);
    for (const line of await samples(metrics)) assert.match(line, /vault_cluster="unknown"/, line);
  });
});
