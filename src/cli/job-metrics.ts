import { publishMetrics, type JobMetrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsOptions } from '../options/metrics.js';

/**
 * A job's metrics reporter, created only when its metrics go somewhere (--metrics-textfile or
 * --pushgateway): reporters hold prom-client registries, and a run that publishes nothing should
 * not pay for loading prom-client. Libraries take the reporter as optional.
 */
export async function jobMetrics<T extends JobMetrics>(
  options: MetricsOptions,
  create: () => Promise<T>,
): Promise<T | undefined> {
  return options.metricsTextfile || options.pushgateway ? create() : undefined;
}

/** Publish what a reporter recorded (failures to publish are warnings, see publishMetrics). */
export async function publishJobMetrics(
  metrics: JobMetrics | undefined,
  options: MetricsOptions,
  logger: Logger,
): Promise<void> {
  if (metrics) await publishMetrics(metrics, options, logger);
}
