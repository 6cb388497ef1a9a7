import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { describeDocumentIssue } from '../config/validation-message.js';
import { VaultOpsError } from '../errors.js';
import { flagName } from '../config/resolve.js';
import { readYamlFile } from '../config/yaml-file.js';
import { jobOptionsJsonSchemas } from '../options/all-commands.js';
import { COMMAND_LINE_ONLY_VERIFY_OPTIONS } from '../options/verify.js';
import { RotationPolicyFileSchema } from '../rotation/kv/index.js';
import { CronError, nextCronRuns, parseCron } from '../time/cron.js';
import { parseDuration } from '../time/duration.js';

/**
 * A job definition (`jobs/*.yaml`): which vault-ops command runs, with which options, on which
 * UTC schedule. The daemon on a VM and the Helm chart's CronJobs run the same files: the chart
 * renders them into a ConfigMap and each CronJob runs `vault-ops daemon --once JOB`.
 *
 * A file holds a `job:` section; the rotate-kv job's file is at the same time its rotation policy
 * (`secrets:`), so one file says what rotates and when the rotation job runs. Site-specific
 * settings (Vault address, store URL, credentials, file paths) come from the environment, never
 * from the job file, so the same file works in every deployment.
 */

/** The commands a job may run (`status` is a cheap health probe). */
export const JOB_COMMANDS = [
  'snapshot save',
  'snapshot copy',
  'snapshot prune',
  'verify',
  'rotate kv',
  'status',
  'report',
] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

/** Keys a job file may never hold: credentials belong in the environment or a mounted file. */
const FORBIDDEN_OPTIONS = new Set(['token', 'config']);

const Duration = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${value}": use e.g. 5m, 30s or 1h30m` });
  }
});

/** The same cron dialect as rotation policies (time/cron.ts): one parser validates both. */
const Schedule = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    try {
      parseCron(value);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      const message =
        err.kind === 'shape'
          ? `"${value}" is not a cron expression: ` +
            'use 5 fields (minute hour day month weekday, UTC) or 6 with seconds first'
          : `"${value}" is not a valid cron expression: ${err.message}`;
      ctx.addIssue({ code: 'custom', message });
    }
  });

const OptionValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

export const JobSectionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/, {
        message: 'lower-case letters, digits and "-" (default: the file name)',
      })
      .optional()
      .describe('Job name, used in logs, metrics and `daemon --once NAME`; defaults to the file name without .yaml.'),
    description: z.string().optional(),
    command: z.enum(JOB_COMMANDS).describe('The vault-ops command to run.'),
    schedule: Schedule.describe(
      'Cron expression in UTC: 5 fields, or 6 with seconds first (daemon only; Kubernetes CronJobs take 5).',
    ),
    enabled: z.boolean().default(true),
    options: z
      .record(
        z.string().regex(/^[a-z][A-Za-z0-9]*$/, { message: 'option names are camelCase flag names, e.g. keepDaily' }),
        OptionValue,
      )
      .default({})
      .describe(
        "The command's options as camelCase flag names (keepDaily: 14 → --keep-daily 14); true adds a switch, false " +
          'leaves it out, a list repeats the flag.',
      ),
    jitter: Duration.default('0s').describe(
      'Start each scheduled run after a random delay of up to this long (daemon).',
    ),
    timeout: Duration.default('2h').describe('A run still going after this long is stopped (SIGTERM, then SIGKILL).'),
  })
  .superRefine((j, ctx) => {
    for (const key of Object.keys(j.options)) {
      if (FORBIDDEN_OPTIONS.has(key))
        ctx.addIssue({
          code: 'custom',
          path: ['options', key],
          message:
            `${key} may not be set in a job file: pass credentials through the environment (e.g. VAULT_TOKEN) ` +
            `or --auth-method kubernetes|approle|jwt|cert|ldap|userpass`,
        });
    }
  });

/** A job file: the `job:` section, plus `secrets:` when it is also a rotate-kv policy. */
export const JobFileSchema = z.strictObject({
  job: JobSectionSchema,
  secrets: RotationPolicyFileSchema.shape.secrets
    .optional()
    .describe('rotate kv only: the rotation policy (see the rotate-kv policy reference).'),
});
export type JobFile = z.input<typeof JobFileSchema>;

/**
 * JSON Schema of job files (jobs/schema.json), generated from the same zod schema, with each
 * command's option keys from its option table (options/), as the scheduler checks them.
 */
export function jobFileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(JobFileSchema, { io: 'input', unrepresentable: 'any' }) as unknown as {
    properties: { job: Record<string, unknown> };
  };
  schema.properties.job.allOf = jobOptionsJsonSchemas();
  return {
    $id: 'https://github.com/vault-ops/vault-ops/jobs/schema.json',
    title: 'vault-ops job definition',
    ...schema,
  };
}

export interface JobDefinition {
  name: string;
  file: string;
  description?: string;
  command: JobCommand;
  schedule: string;
  enabled: boolean;
  options: Record<string, string | number | boolean | string[]>;
  jitterMs: number;
  timeoutMs: number;
}

/** Which option keys each command accepts (from the option tables, options/), to catch typos early. */
export type KnownJobOptions = Partial<Record<JobCommand, readonly { key: string }[]>>;

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => describeDocumentIssue(issue.path.map(String).join('.') || 'file', issue));
}

/**
 * Validate one parsed job document. `known` (when given) lists every option a command accepts,
 * including the global ones; unknown keys are errors naming the file and key.
 */
export function parseJobDefinition(
  doc: unknown,
  file: string,
  known?: KnownJobOptions,
  globalKeys: readonly string[] = [],
): JobDefinition {
  const result = JobFileSchema.safeParse(doc ?? {});
  if (!result.success)
    throw new VaultOpsError('config', `invalid job file ${file}: ${describeIssues(result.error).join('; ')}`);
  const { job, secrets } = result.data;
  const problems: string[] = [];
  if (secrets !== undefined && job.command !== 'rotate kv')
    problems.push(`secrets: only a rotate kv job holds a rotation policy`);
  const allowed = known?.[job.command];
  if (allowed) {
    const keys = new Set([...allowed.map((s) => s.key), ...globalKeys]);
    for (const key of Object.keys(job.options)) {
      if (!keys.has(key)) problems.push(`job.options.${key}: ${job.command} has no option ${flagName(key)}`);
    }
  }
  if (job.command === 'verify') {
    // Scheduled drills are recovery drills: an unsealed drill runs the copy live (command line only).
    for (const key of COMMAND_LINE_ONLY_VERIFY_OPTIONS) {
      if (key in job.options && !(key === 'mode' && job.options.mode === 'recovery'))
        problems.push(
          `job.options.${key}: scheduled drills run in recovery mode only; ${flagName(key)} ` +
            `${key === 'mode' ? 'unsealed ' : ''}is accepted on the command line alone`,
        );
    }
  }
  if (job.command === 'rotate kv' && secrets === undefined && job.options.policy === undefined) {
    problems.push('a rotate kv job needs its policy: list secrets: in this file or set options.policy');
  }
  if (problems.length) throw new VaultOpsError('config', `invalid job file ${file}: ${problems.join('; ')}`);

  const options = { ...job.options };
  const baseDir = dirname(resolve(file));
  if (job.command === 'rotate kv') {
    // The file is its own policy unless options.policy names another (relative to this file).
    options.policy = typeof options.policy === 'string' ? resolve(baseDir, options.policy) : resolve(file);
  }
  const name = job.name ?? basename(file, extname(file));
  if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(name)) {
    throw new VaultOpsError(
      'config',
      `invalid job file ${file}: the file name makes the job name "${name}", which is not lower-case letters, digits ` +
        `and "-": set job.name`,
    );
  }
  return {
    name,
    file,
    ...(job.description ? { description: job.description } : {}),
    command: job.command,
    schedule: job.schedule.trim(),
    enabled: job.enabled,
    options,
    jitterMs: parseDuration(job.jitter),
    timeoutMs: parseDuration(job.timeout),
  };
}

export async function loadJobFile(
  file: string,
  known?: KnownJobOptions,
  globalKeys?: readonly string[],
): Promise<JobDefinition> {
  const doc = await readYamlFile(file, 'job file', (code) => `cannot read job file ${file} (${code})`);
  return parseJobDefinition(doc, file, known, globalKeys);
}

/**
 * Every `*.yaml`/`*.yml` in `dir` (not recursive), sorted by name. All files' problems are reported
 * together; two files with the same job name are an error.
 */
export async function loadJobDirectory(
  dir: string,
  known?: KnownJobOptions,
  globalKeys?: readonly string[],
): Promise<JobDefinition[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `cannot read the jobs directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}): check --jobs`,
      { cause: err },
    );
  }
  if (names.length === 0) throw new VaultOpsError('config', `no job files (*.yaml) in ${dir}: check --jobs`);
  const jobs: JobDefinition[] = [];
  const problems: string[] = [];
  for (const n of names) {
    try {
      jobs.push(await loadJobFile(join(dir, n), known, globalKeys));
    } catch (err) {
      problems.push((err as Error).message.replace(/^invalid /, ''));
    }
  }
  const seen = new Map<string, string>();
  for (const j of jobs) {
    const other = seen.get(j.name);
    if (other) problems.push(`job name ${j.name} is used by both ${other} and ${j.file}: set job.name in one of them`);
    seen.set(j.name, j.file);
  }
  if (problems.length) throw new VaultOpsError('config', `invalid jobs in ${dir}: ${problems.join('; ')}`);
  return jobs;
}

/**
 * The CLI arguments a job runs: the command words, then each option as its flag. `true` adds a
 * switch, `false` leaves it out, a list repeats the flag. Credentials are never among them.
 */
export function jobArguments(job: Pick<JobDefinition, 'command' | 'options'>): string[] {
  const args = job.command.split(' ');
  for (const [key, value] of Object.entries(job.options)) {
    const flag = flagName(key);
    if (value === true) args.push(flag);
    else if (value === false) continue;
    else if (Array.isArray(value)) for (const v of value) args.push(flag, v);
    else args.push(flag, String(value));
  }
  return args;
}

/** The next `count` start times of a schedule (UTC) after `now`, without jitter: the times the daemon fires. */
export function nextRuns(schedule: string, count: number, now: Date = new Date()): Date[] {
  return nextCronRuns(parseCron(schedule), now, count);
}
