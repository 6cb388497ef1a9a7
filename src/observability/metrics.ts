import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { MetricsOptions } from '../options/metrics.js';
import { writeFileAtomically } from './atomic-file.js';
import type { Logger } from './logger.js';

/**
 * Write the registry as a textfile, atomically (temp + rename, as node-exporter requires).
 * Families this run did not set (e.g. the last-success timestamp after a failed run) are carried
 * over from the previous file, so a failure never erases when the job last succeeded.
 */
export async function writeTextfile(registry: Registry, path: string): Promise<void> {
  const fresh = await registry.metrics();
  const freshNames = new Set([...fresh.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
  let carried = '';
  try {
    const old = await readFile(path, 'utf8');
    carried = splitFamilies(old)
      .filter((f) => f.name && !freshNames.has(f.name))
      .map((f) => f.text)
      .join('');
  } catch {
    /* no previous file */
  }
  await writeFileAtomically(path, fresh + carried, 0o644);
}

function splitFamilies(text: string): Array<{ name: string | undefined; text: string }> {
  const families: Array<{ name: string | undefined; text: string }> = [];
  let current: { name: string | undefined; text: string } | undefined;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const help = /^# HELP (\S+)/.exec(line);
    if (help || !current) {
      current = { name: help?.[1], text: '' };
      families.push(current);
    }
    const type = /^# TYPE (\S+)/.exec(line);
    if (type) current.name = type[1];
    current.text += `${line}\n`;
  }
  return families;
}

/** Push with POST semantics (pushAdd): metrics not set this run keep their previous values. */
export async function pushMetrics(registry: Registry, gateway: string, job: string): Promise<void> {
  // Loaded here: the modules that only name a Registry (publishing, the CLI) stay light.
  const { Pushgateway } = await import('prom-client');
  const client = new Pushgateway(gateway, { timeout: 10_000 }, registry);
  await client.pushAdd({ jobName: job });
}

/**
/**
 * The one metrics pattern: a library is handed a typed reporter (SnapshotReporter, DrillReporter,
 * RotationReporter) and records what happened; the reporter's Prometheus implementation keeps its
 * own registry, and the CLI publishes it once the job ends, whatever the outcome.
 */
export interface JobMetrics {
  /** The Pushgateway job name. */
  readonly job: string;
  readonly registry: Registry;
}

/**
 * Publish a job's metrics as configured (options/metrics.ts): a node-exporter textfile (VMs) and/or
 * a Pushgateway (Kubernetes: a hostPath for the textfile is forbidden by the pod security the chart
 * sets). Metric values are numbers and labels are names: no secret can reach them. Failures to
 * publish are warnings, not job failures.
 */
export async function publishMetrics(metrics: JobMetrics, options: MetricsOptions, logger: Logger): Promise<void> {
  // Nothing recorded (a dry run): nothing to publish, and the previous file stays as it was.
  if (metrics.registry.getMetricsAsArray().length === 0) return;
  if (options.metricsTextfile) {
    await writeTextfile(metrics.registry, options.metricsTextfile).catch((err) =>
      logger.warn(
        { err: (err as Error).message, path: options.metricsTextfile },
        'could not write the metrics textfile',
      ),
    );
  }
  if (options.pushgateway) {
    await pushMetrics(metrics.registry, options.pushgateway, metrics.job).catch((err) =>
      logger.warn({ err: (err as Error).message }, 'could not push metrics to the Pushgateway'),
    );
  }
}
