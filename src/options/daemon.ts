import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

/** `daemon`: where the job definitions are, and how the daemon runs them. */
export const daemonOptions = [
  {
    key: 'jobs',
    example: '/etc/vault-ops/jobs',
    flag: '--jobs <dir>',
    help: 'folder of job definitions (VAULT_OPS_JOBS_DIR)',
    env: ['VAULT_OPS_JOBS_DIR'],
    type: z.string({ message: 'required: the folder of job definitions (--jobs DIR)' }).min(1),
  },
  {
    key: 'once',
    flag: '--once <job>',
    help: 'run this job now, once, and exit with its exit status (Kubernetes CronJobs)',
    type: z.string().min(1).optional(),
  },
  {
    key: 'check',
    flag: '--check',
    help: 'validate the job definitions and print their next runs, then exit',
    type: z.boolean().default(false),
  },
  {
    key: 'httpPort',
    flag: '--http-port <port>',
    help: 'loopback port of /metrics and /healthz (default 9469; 0 picks one)',
    env: ['VAULT_OPS_DAEMON_HTTP_PORT'],
    parse: 'int',
    type: z.number().int().min(0).max(65535).default(9469),
  },
  {
    key: 'shutdownGraceSeconds',
    flag: '--shutdown-grace-seconds <n>',
    help: 'on SIGTERM, how long running jobs may finish before they are stopped (default 30)',
    env: ['VAULT_OPS_DAEMON_SHUTDOWN_GRACE_SECONDS'],
    parse: 'number',
    type: z
      .number()
      .min(0)
      .max(24 * 3600)
      .default(30),
  },
  {
    key: 'maxConcurrentDrills',
    flag: '--max-concurrent-drills <n>',
    help:
      'restore drills (verify jobs) running at once on this host, across every daemon sharing --drill-slots-dir; ' +
      'drills due together queue (default 1)',
    env: ['VAULT_OPS_MAX_CONCURRENT_DRILLS'],
    parse: 'int',
    type: z.number().int().min(1).max(64).default(1),
  },
  {
    key: 'drillSlotsDir',
    flag: '--drill-slots-dir <dir>',
    help:
      'folder the daemons of this host share to count running drills (VAULT_OPS_DRILL_SLOTS_DIR; default ' +
      '<tmp>/vault-ops-drill-slots: give every daemon the same one, e.g. under /run, when they have private /tmp)',
    env: ['VAULT_OPS_DRILL_SLOTS_DIR'],
    type: z.string().min(1).optional(),
  },
] as const satisfies readonly OptionSpec[];

export const DaemonOptionsSchema = schemaOf(daemonOptions);
export type DaemonOptions = z.output<typeof DaemonOptionsSchema>;
export const daemonOptionSources = sourcesOf(daemonOptions);
