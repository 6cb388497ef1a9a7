import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { vaultName } from './shared.js';

/** Where a job's metrics go: a node-exporter textfile (VMs) and/or a Pushgateway (Kubernetes). */
export const metricsOptions = [
  {
    key: 'metricsTextfile',
    flag: '--metrics-textfile <file>',
    help: 'write metrics for the node-exporter textfile collector',
    env: ['VAULT_OPS_METRICS_TEXTFILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'pushgateway',
    flag: '--pushgateway <url>',
    help: 'push metrics to a Prometheus Pushgateway',
    env: ['VAULT_OPS_PUSHGATEWAY'],
    type: z.url().optional(),
  },
  {
    key: 'vaultClusterName',
    flag: '--vault-cluster-name <name>',
    help: 'the vault_cluster label of every metric (default: the cluster name Vault reports)',
    env: ['VAULT_OPS_VAULT_CLUSTER_NAME'],
    type: vaultName.optional(),
  },
] as const satisfies readonly OptionSpec[];

export const MetricsOptionsSchema = schemaOf(metricsOptions);
export type MetricsOptions = z.output<typeof MetricsOptionsSchema>;
export const metricsOptionSources = sourcesOf(metricsOptions);
