import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { describeDocumentIssue } from '../../config/validation-message.js';
import { readYamlFile } from '../../config/yaml-file.js';
import { VaultOpsError } from '../../errors.js';
import { parseDuration } from '../../time/duration.js';
import { CronError, parseCron } from '../../time/cron.js';
import type { RotationSchedule } from './schedule.js';

/**
 * The rotation policy file (`rotate kv --policy FILE`): which KV v2 secrets rotate, when, how
 * each key's new value is made, and which hooks update and check the target system. Loose YAML
 * → zod → the strict `RotationPolicy`; every problem is reported at once, each naming its entry.
 * The JSON Schema of the file comes from the same zod schema (`rotationPolicyJsonSchema`).
 */

export const CHARSETS = {
  alnum: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  'ascii-printable': Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join(''),
} as const;
export type Charset = keyof typeof CHARSETS;

export type KeyGenerator =
  | { kind: 'local'; length: number; charset: Charset; exclude: string }
  | { kind: 'passwordPolicy'; policy: string }
  | { kind: 'command'; command: string[]; timeoutMs: number; env: string[] };

export interface RotationHooks {
  set?: string[];
  test?: string[];
  revoke?: string[];
  /** Revoke the previous value only this long after the rotation completed. */
  graceMs: number;
  /** Each hook (and each `command` generator) is killed after this long. */
  timeoutMs: number;
  /** Variables the hooks get from vault-ops' environment besides PATH, HOME, LANG, TZ and LC_*. */
  env: string[];
}

export interface SecretPolicy {
  /** Position in the file, for messages (`secrets[3]`). */
  index: number;
  /** `mount/path`, the id used by `--only` and in every report. */
  id: string;
  mount: string;
  path: string;
  schedule: RotationSchedule;
  keys: Array<{ name: string; generator: KeyGenerator }>;
  hooks?: RotationHooks;
  maxVersions?: number;
  /** Failed attempts in a row before the secret is quarantined. */
  maxFailures: number;
}

export interface RotationPolicy {
  file: string;
  secrets: SecretPolicy[];
}

const DEFAULT_TIMEOUT = '60s';
const DEFAULT_GRACE = '1h';
const DEFAULT_WINDOW = '1h';
const segment = /^[A-Za-z0-9._-]+$/;

const Duration = z.string().superRefine((value, ctx) => {
  try {
    if (parseDuration(value) <= 0)
      ctx.addIssue({ code: 'custom', message: `duration "${value}" must be greater than zero` });
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${value}": use e.g. 90d, 3h, 15m or 30s` });
  }
});

const KvPath = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const parts = value.split('/');
      if (parts.some((p) => !segment.test(p) || p === '.' || p === '..')) {
        ctx.addIssue({
          code: 'custom',
          message:
            `${what} "${value}" must be /-separated segments of letters, digits, ".", "_" and "-" (no leading ` +
            `or trailing "/", no "..")`,
        });
      }
    });

const Command = z.array(z.string().min(1)).min(1, { message: 'a command is a non-empty list: [program, arg, …]' });

/** Names of environment variables a hook or generator gets on top of the base allowlist (process-runner.ts). */
const EnvNames = z
  .array(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
      message: 'an environment variable name: letters, digits and "_", not starting with a digit',
    }),
  )
  .superRefine((names, ctx) => {
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0)
      ctx.addIssue({
        code: 'custom',
        message: `names ${[...new Set(twice)].join(', ')} more than once; list each variable once`,
      });
  });

const KeySpecSchema = z
  .strictObject({
    length: z.number().int().min(8).max(4096).optional(),
    charset: z.enum(['alnum', 'hex', 'base64url', 'ascii-printable']).optional(),
    exclude: z.string().optional(),
    passwordPolicy: z.string().regex(segment, { message: 'a password policy name' }).optional(),
    command: Command.optional(),
    env: EnvNames.optional(),
  })
  .superRefine((k, ctx) => {
    const local = k.length !== undefined || k.charset !== undefined || k.exclude !== undefined;
    const kinds = [local, k.passwordPolicy !== undefined, k.command !== undefined].filter(Boolean).length;
    if (kinds > 1)
      ctx.addIssue({
        code: 'custom',
        message: 'choose one generator: length/charset/exclude (local), passwordPolicy, or command',
      });
    if (k.env !== undefined && k.command === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['env'],
        message: 'env applies to a command generator only: add command or drop env',
      });
    if (k.exclude !== undefined) {
      const charset = CHARSETS[k.charset ?? 'alnum'];
      const left = [...charset].filter((c) => !k.exclude!.includes(c)).length;
      if (left < 2) ctx.addIssue({ code: 'custom', path: ['exclude'], message: 'excludes (almost) the whole charset' });
    }
  });

const HooksSchema = z
  .strictObject({
    set: Command.optional(),
    test: Command.optional(),
    revoke: Command.optional(),
    grace: Duration.optional(),
    timeout: Duration.optional(),
    env: EnvNames.optional(),
  })
  .superRefine((h, ctx) => {
    if (!h.set && !h.test && !h.revoke)
      ctx.addIssue({ code: 'custom', message: 'name at least one of set, test, revoke (or drop hooks)' });
    if (h.grace !== undefined && !h.revoke)
      ctx.addIssue({
        code: 'custom',
        path: ['grace'],
        message: 'grace applies to the revoke hook: add hooks.revoke or drop grace',
      });
  });

const EntrySchema = z
  .strictObject({
    mount: KvPath('mount'),
    path: KvPath('path'),
    every: Duration.optional(),
    schedule: z.string().optional(),
    window: Duration.optional(),
    keys: z.record(
      z.string().regex(segment, { message: 'key names are letters, digits, ".", "_" and "-"' }),
      KeySpecSchema,
    ),
    hooks: HooksSchema.optional(),
    maxVersions: z
      .number()
      .int()
      .min(2, { message: 'must be at least 2 so that the previous value stays in the version history' })
      .max(10_000)
      .optional(),
    maxFailures: z.number().int().min(1).max(100).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.every !== undefined && e.schedule !== undefined)
      ctx.addIssue({ code: 'custom', message: 'set either every or schedule, not both' });
    if (e.every === undefined && e.schedule === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'set every (max age, e.g. 90d) or schedule (5-field UTC cron, with window)',
      });
    if (e.window !== undefined && e.schedule === undefined)
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'window applies to schedule only' });
    if (e.schedule !== undefined) {
      try {
        parseCron(e.schedule);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedule'],
          message: `bad cron "${e.schedule}": ${err instanceof CronError ? err.message : String(err)}`,
        });
      }
    }
    if (Object.keys(e.keys).length === 0)
      ctx.addIssue({ code: 'custom', path: ['keys'], message: 'name at least one key to rotate' });
  });

export const RotationPolicyFileSchema = z.strictObject({
  secrets: z.array(EntrySchema).min(1, { message: 'list at least one secret' }),
  /**
   * The scheduler's job section when the policy file is also a job definition (jobs/rotate-kv.yaml); validated by
   * src/scheduler, ignored here.
   */
  job: z.unknown().optional(),
});
export type RotationPolicyFile = z.input<typeof RotationPolicyFileSchema>;

/** JSON Schema of the policy file, for editors and CI linting. */
export function rotationPolicyJsonSchema(): unknown {
  return z.toJSONSchema(RotationPolicyFileSchema, { io: 'input', unrepresentable: 'any' });
}

function entryLabel(doc: unknown, index: number): string {
  const entry = (doc as { secrets?: unknown[] } | undefined)?.secrets?.[index] as
    | { mount?: unknown; path?: unknown }
    | undefined;
  const id =
    typeof entry?.mount === 'string' && typeof entry?.path === 'string' ? ` (${entry.mount}/${entry.path})` : '';
  return `secrets[${index}]${id}`;
}

/** Turn zod issues into one message naming each entry and field. */
function describeIssues(error: z.ZodError, doc: unknown): string[] {
  return error.issues.map((issue) => {
    const path = [...issue.path];
    let where = '';
    if (path[0] === 'secrets' && typeof path[1] === 'number') {
      where = entryLabel(doc, path[1]);
      path.splice(0, 2);
    }
    const field = path.map(String).join('.');
    const label = [where, field].filter(Boolean).join(': ') || 'policy';
    return describeDocumentIssue(label, issue);
  });
}

/** Commands with a "/" in the program are resolved against the policy file's folder; bare names use PATH. */
function resolveCommand(command: string[], baseDir: string): string[] {
  const [program, ...args] = command;
  if (program === undefined) return command;
  const resolved = program.includes('/') && !isAbsolute(program) ? resolve(baseDir, program) : program;
  return [resolved, ...args];
}

function toSchedule(e: z.output<typeof EntrySchema>): RotationSchedule {
  if (e.every !== undefined) return { kind: 'every', everyMs: parseDuration(e.every), text: e.every };
  const window = e.window ?? DEFAULT_WINDOW;
  return { kind: 'cron', cron: parseCron(e.schedule!), windowMs: parseDuration(window), text: e.schedule!.trim() };
}

/** Validate a parsed policy document; `file` names it in messages and anchors relative commands. */
export function parseRotationPolicy(doc: unknown, file: string): RotationPolicy {
  const result = RotationPolicyFileSchema.safeParse(doc ?? {});
  const problems = result.success ? [] : describeIssues(result.error, doc);
  if (result.success) {
    const seen = new Map<string, number>();
    result.data.secrets.forEach((e, i) => {
      const id = `${e.mount}/${e.path}`;
      const before = seen.get(id);
      if (before !== undefined)
        problems.push(`${entryLabel(doc, i)}: the same secret as secrets[${before}]; list each secret once`);
      else seen.set(id, i);
    });
  }
  if (problems.length > 0 || !result.success) {
    throw new VaultOpsError('config', `invalid rotation policy ${file}: ${problems.join('; ')}`);
  }
  const baseDir = dirname(resolve(file));
  return {
    file,
    secrets: result.data.secrets.map((e, index) => {
      const timeoutMs = parseDuration(e.hooks?.timeout ?? DEFAULT_TIMEOUT);
      const keys = Object.entries(e.keys).map(([name, k]) => {
        let generator: KeyGenerator;
        if (k.passwordPolicy !== undefined) generator = { kind: 'passwordPolicy', policy: k.passwordPolicy };
        else if (k.command !== undefined)
          generator = { kind: 'command', command: resolveCommand(k.command, baseDir), timeoutMs, env: k.env ?? [] };
        else
          generator = {
            kind: 'local',
            length: k.length ?? 32,
            charset: k.charset ?? 'alnum',
            exclude: k.exclude ?? '',
          };
        return { name, generator };
      });
      const hooks: RotationHooks | undefined = e.hooks
        ? {
            ...(e.hooks.set ? { set: resolveCommand(e.hooks.set, baseDir) } : {}),
            ...(e.hooks.test ? { test: resolveCommand(e.hooks.test, baseDir) } : {}),
            ...(e.hooks.revoke ? { revoke: resolveCommand(e.hooks.revoke, baseDir) } : {}),
            graceMs: parseDuration(e.hooks.grace ?? DEFAULT_GRACE),
            timeoutMs,
            env: e.hooks.env ?? [],
          }
        : undefined;
      return {
        index,
        id: `${e.mount}/${e.path}`,
        mount: e.mount,
        path: e.path,
        schedule: toSchedule(e),
        keys,
        ...(hooks ? { hooks } : {}),
        ...(e.maxVersions !== undefined ? { maxVersions: e.maxVersions } : {}),
        maxFailures: e.maxFailures ?? 3,
      };
    }),
  };
}

/** Read and validate a policy file. Any problem is a 'config' error (exit 2). */
export async function loadRotationPolicy(file: string): Promise<RotationPolicy> {
  const doc = await readYamlFile(
    file,
    'rotation policy',
    (code) => `cannot read rotation policy ${file} (${code}): check --policy`,
  );
  return parseRotationPolicy(doc, file);
}

/** Keep the entries `--only mount/path` selects; an `--only` naming no entry is a usage error. */
export function selectSecrets(policy: RotationPolicy, only: readonly string[]): SecretPolicy[] {
  if (only.length === 0) return policy.secrets;
  const wanted = new Set(only.map((o) => o.replace(/^\/+|\/+$/g, '')));
  const unknown = [...wanted].filter((id) => !policy.secrets.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new VaultOpsError(
      'usage',
      `--only ${unknown.join(', ')}: not in ${policy.file}; use MOUNT/PATH exactly as listed (e.g. ` +
        `${policy.secrets[0]?.id ?? 'secret/app/key'})`,
    );
  }
  return policy.secrets.filter((s) => wanted.has(s.id));
}
