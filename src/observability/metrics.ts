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

/** One push: the series of one grouping key (Pushgateway group). */
export interface MetricsGroup {
  /** The grouping labels besides `job`: `vault_cluster`, and `store` when the series are about one. */
  labels: Record<string, string>;
  /** The group's series in the text exposition format. */
  text: string;
}

/** A label value as a Pushgateway URL path segment: base64url, so that `/` in a store URL is safe. */
function pathLabel(name: string, value: string): string {
  // An empty value must be `=` (the Pushgateway's documented form for an empty base64 value).
  return `${name}@base64/${value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url')}`;
}

/**
 * Push one group with POST semantics (as prom-client's pushAdd): families not in this push keep
 * their previous values, so a failed run never erases the last success time. The grouping key is
 * the job plus the group's labels, so that two clusters (and two stores) never replace each
 * other's series.
 */
export async function pushGroup(gateway: string, job: string, group: MetricsGroup): Promise<void> {
  const url = new URL(gateway);
  const path = [pathLabel('job', job), ...Object.entries(group.labels).map(([k, v]) => pathLabel(k, v))];
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/${path.join('/')}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    body: group.text,
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    const detail = (await response.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
    throw new Error(`the Pushgateway answered ${response.status} ${response.statusText}: ${detail}`);
  }
}

const STORE_LABEL = /[{,]store="((?:[^"\\]|\\.)*)"/;

/**
 * Split an exposition into one group per store: a series with a `store` label goes to its store's
 * group, a series without one (e.g. the snapshot's key counts) to every group, since it is about
 * the run as a whole. No series names a store: one group without `store`.
 */
export function groupByStore(text: string, labels: Record<string, string>): MetricsGroup[] {
  const families = splitFamilies(text);
  const stores = new Set<string>();
  for (const line of text.split('\n')) {
    const m = line.startsWith('#') ? null : STORE_LABEL.exec(line);
    if (m) stores.add(unescapeLabel(m[1]!));
  }
  if (stores.size === 0) return [{ labels, text }];
  return [...stores].map((store) => {
    const kept = families
      .map((f) => {
        const lines = f.text.split('\n').filter((line) => {
          if (line === '' || line.startsWith('#')) return true;
          const m = STORE_LABEL.exec(line);
          return !m || unescapeLabel(m[1]!) === store;
        });
        return lines.some((l) => l !== '' && !l.startsWith('#')) ? lines.join('\n') : '';
      })
      .join('');
    return { labels: { ...labels, store }, text: kept };
  });
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * The one metrics pattern: a library is handed a typed reporter (SnapshotReporter, DrillReporter,
 * RotationReporter) and records what happened; the reporter's Prometheus implementation keeps its
 * own registry, and the CLI publishes it once the job ends, whatever the outcome.
 */
export interface JobMetrics {
  /** The Pushgateway job name. */
  readonly job: string;
  readonly registry: Registry;
  /**
   * The store every series of the run is about (its credential-free URL), for a job on one store
   * (prune, verify): published as each series' `store` label. A job on several stores (save)
   * labels its series itself.
   */
  readonly store?: string | undefined;
  /** The cluster name the run saw (Vault's own, or the one its snapshots record): the default `vault_cluster`. */
  readonly clusterName?: string | undefined;
}

/** The `vault_cluster` of a run whose cluster nobody named and whose run never learned it. */
export const UNKNOWN_CLUSTER = 'unknown';

/**
 * Publish a job's metrics as configured (options/metrics.ts): a node-exporter textfile (VMs) and/or
 * a Pushgateway (Kubernetes: a hostPath for the textfile is forbidden by the pod security the chart
 * sets). Every series carries `vault_cluster` (and `store` where a store is involved); the push is
 * grouped by job, cluster and store, so that nothing overwrites another cluster's or store's series.
 * Metric values are numbers and labels are names: no secret can reach them. Failures to publish are
 * warnings, not job failures.
 */
export async function publishMetrics(metrics: JobMetrics, options: MetricsOptions, logger: Logger): Promise<void> {
  // Nothing recorded (a dry run): nothing to publish, and the previous file stays as it was.
  if (metrics.registry.getMetricsAsArray().length === 0) return;
  const vaultCluster = options.vaultClusterName ?? metrics.clusterName ?? UNKNOWN_CLUSTER;
  if (vaultCluster === UNKNOWN_CLUSTER) {
    logger.warn(
      'the run never learned the Vault cluster name: its metrics say vault_cluster="unknown"; ' +
        'set --vault-cluster-name (VAULT_OPS_VAULT_CLUSTER_NAME) to name the cluster',
    );
  }
  metrics.registry.setDefaultLabels({
    vault_cluster: vaultCluster,
    ...(metrics.store === undefined ? {} : { store: metrics.store }),
  });
  if (options.metricsTextfile) {
    await writeTextfile(metrics.registry, options.metricsTextfile).catch((err) =>
      logger.warn(
        { err: (err as Error).message, path: options.metricsTextfile },
        'could not write the metrics textfile',
      ),
    );
  }
  if (options.pushgateway) {
    const gateway = options.pushgateway;
    for (const group of groupByStore(await metrics.registry.metrics(), { vault_cluster: vaultCluster })) {
      await pushGroup(gateway, metrics.job, group).catch((err) =>
        logger.warn({ err: (err as Error).message, group: group.labels }, 'could not push metrics to the Pushgateway'),
      );
    }
  }
}
