import { configFileOption, globalOptions } from './global.js';
import { daemonOptions } from './daemon.js';
import { fileKeysOf, jobOptionsJsonSchema, jobOptionsOf, type OptionSpec, type OptionTable } from './option-table.js';
import { reportOptions } from './report.js';
import { recoverOptions, snapshotHistoryOptions } from './recover.js';
import { restoreOptions } from './restore.js';
import { rotateKvOptions } from './rotate-kv.js';
import { rotateRootOptions } from './rotate-root.js';
import { storeOptions } from './store.js';
import { setupAllOptions, setupCanaryOptions, setupPoliciesOptions, setupStagingOptions } from './setup.js';
import {
  snapshotCopyOptions,
  snapshotInspectOptions,
  snapshotListOptions,
  snapshotPruneOptions,
  snapshotSaveOptions,
} from './snapshot.js';
import { verifyOptions } from './verify.js';

/** Each command's flags, by its command words (`status` has no options of its own). */
export const commandOptions: Readonly<Record<string, OptionTable>> = {
  status: [],
  'snapshot save': snapshotSaveOptions,
  'snapshot copy': snapshotCopyOptions,
  'snapshot list': snapshotListOptions,
  'snapshot inspect': snapshotInspectOptions,
  'snapshot prune': snapshotPruneOptions,
  'snapshot history': snapshotHistoryOptions,
  verify: verifyOptions,
  restore: restoreOptions,
  recover: recoverOptions,
  report: reportOptions,
  'rotate kv': rotateKvOptions,
  'runbook rotate-root': rotateRootOptions,
  daemon: daemonOptions,
  'setup policies': setupPoliciesOptions,
  'setup canary': setupCanaryOptions,
  'setup staging': setupStagingOptions,
  'setup all': setupAllOptions,
};

/**
 * Keys the YAML `--config` file may hold: every command's options, the global ones, and `config`;
 * also every S3 setting, which rotate kv's and runbook rotate-root's stores read without their flags.
 */
export function configFileKeys(): Set<string> {
  const tables = [globalOptions, ...Object.values(commandOptions), storeOptions];
  return new Set([...tables.flatMap(fileKeysOf), configFileOption.key]);
}

/** The options a job file may give each command the scheduler runs, besides the global ones. */
export function jobCommandOptions(): Record<
  'snapshot save' | 'snapshot copy' | 'snapshot prune' | 'verify' | 'rotate kv' | 'status' | 'report',
  OptionSpec[]
> {
  return {
    'snapshot save': jobOptionsOf(snapshotSaveOptions),
    'snapshot copy': jobOptionsOf(snapshotCopyOptions),
    'snapshot prune': jobOptionsOf(snapshotPruneOptions),
    verify: jobOptionsOf(verifyOptions),
    'rotate kv': jobOptionsOf(rotateKvOptions),
    status: [],
    // The evidence page, republished after the drills (--out a store URL where auditors read it).
    report: jobOptionsOf(reportOptions),
  };
}

/** Global options a job file may set: all but credentials (token), which stay in the environment. */
export function globalJobKeys(): string[] {
  return jobOptionsOf(globalOptions).map((s) => s.key);
}

/** The job JSON Schema's per-command rules: each command's options and the global ones (credentials left out). */
export function jobOptionsJsonSchemas(): Record<string, unknown>[] {
  return Object.entries(jobCommandOptions()).map(([command, options]) =>
    jobOptionsJsonSchema(command, [...globalOptions, ...options]),
  );
}
