import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VaultOpsError } from '../errors.js';
import { globalJobKeys, jobCommandOptions } from '../options/all-commands.js';
import { snapshotSaveOptionSources } from '../options/snapshot.js';
import { verifyOptionSources } from '../options/verify.js';
import { loadRotationPolicy } from '../rotation/kv/policy.js';
import { jobArguments, jobFileJsonSchema, loadJobDirectory, nextRuns, parseJobDefinition } from './job-definition.js';

const jobsDir = fileURLToPath(new URL('../../jobs/', import.meta.url));

const rejects = (doc: unknown, re: RegExp, known?: Parameters<typeof parseJobDefinition>[2]) =>
  assert.throws(
    () => parseJobDefinition(doc, '/etc/vault-ops/jobs/x.yaml', known),
    (e: unknown) => e instanceof VaultOpsError && e.code === 'config' && re.test(e.message),
  );

describe('job definitions', () => {
  test('jobs/*.yaml are valid job definitions; rotate-kv.yaml is also a valid rotation policy', async () => {
    const jobs = await loadJobDirectory(
      jobsDir,
      { 'snapshot save': snapshotSaveOptionSources, verify: verifyOptionSources },
      ['logLevel'],
    );
    assert.deepEqual(
      jobs.map((j) => [j.name, j.command, j.schedule]),
      [
        ['report', 'report', '30 6 * * *'],
        ['rotate-kv', 'rotate kv', '15 * * * *'],
        ['snapshot', 'snapshot save', '0 * * * *'],
        ['verify', 'verify', '30 4 * * *'],
      ],
    );
    // The daemon schedules the auditors' page too: its stores and --out come from the environment.
    assert.deepEqual(jobArguments(jobs.shift()!), ['report']);
    const rotate = jobs[0]!;
    assert.equal(rotate.options.policy, `${jobsDir}rotate-kv.yaml`, 'the rotate-kv job file is its own policy');
    const policy = await loadRotationPolicy(`${jobsDir}rotate-kv.yaml`);
    assert.equal(policy.secrets.length, 2);
    assert.deepEqual(jobArguments(jobs[1]!), [
      'snapshot',
      'save',
      '--canary',
      '--prune',
      '--keep-hourly',
      '48',
      '--keep-daily',
      '14',
      '--keep-weekly',
      '8',
      '--keep-monthly',
      '12',
    ]);
    assert.equal(jobs[1]!.jitterMs, 120_000);
    assert.equal(jobs[1]!.timeoutMs, 50 * 60_000);
  });

  test(
    'jobs/schema.json is the schema generated from the zod schema (regenerate: vault-ops setup job-schema > ' +
      'jobs/schema.json)',
    async () => {
      const committed = JSON.parse(await readFile(`${jobsDir}schema.json`, 'utf8'));
      assert.deepEqual(committed, JSON.parse(JSON.stringify(jobFileJsonSchema())));
    },
  );

  test('a verify job may never ask for an unsealed drill (command line only); recovery mode is fine', () => {
    const known = { verify: verifyOptionSources };
    const job = (options: Record<string, unknown>) => ({
      job: { command: 'verify', schedule: '30 4 * * *', options: { from: 's3://b/p', ...options } },
    });
    rejects(
      job({ mode: 'unsealed' }),
      /job\.options\.mode: scheduled drills run in recovery mode only; --mode unsealed is accepted on the command line alone/,
      known,
    );
    rejects(
      job({ iUnderstandUnsealedRunsLive: true }),
      /job\.options\.iUnderstandUnsealedRunsLive: .*--i-understand-unsealed-runs-live is accepted on the command line alone/,
      known,
    );
    assert.equal(
      parseJobDefinition(job({ mode: 'recovery' }), '/etc/vault-ops/jobs/verify.yaml', known).options.mode,
      'recovery',
    );
  });

  test('options become flags: true a switch, false nothing, lists repeat', () => {
    assert.deepEqual(
      jobArguments({
        command: 'verify',
        options: {
          mode: 'unsealed',
          checkSecret: ['a/b', 'c/d'],
          scratchPort: 18200,
          s3ForcePathStyle: true,
          dryRun: false,
        },
      }),
      [
        'verify',
        '--mode',
        'unsealed',
        '--check-secret',
        'a/b',
        '--check-secret',
        'c/d',
        '--scratch-port',
        '18200',
        '--s3-force-path-style',
      ],
    );
  });

  test('every problem is named: command, schedule, durations, unknown keys', () => {
    rejects({ job: { command: 'snapshot take', schedule: '0 * * * *' } }, /job\.command/);
    rejects(
      { job: { command: 'verify', schedule: 'every hour' } },
      /job\.schedule: "every hour" is not a cron expression/,
    );
    rejects({ job: { command: 'verify', schedule: '61 * * * *' } }, /not a valid cron expression/);
    rejects(
      { job: { command: 'verify', schedule: '0 * * * *', jitter: 'soon' } },
      /job\.jitter: invalid duration "soon"/,
    );
    rejects({ job: { command: 'verify', schedule: '0 * * * *', retries: 3 } }, /retries/);
    rejects({ job: { command: 'verify', schedule: '0 * * * *' }, extra: 1 }, /extra/);
    rejects(
      { job: { command: 'verify', schedule: '0 * * * *', options: { keepDaily: 3 } } },
      /job\.options\.keepDaily: verify has no option --keep-daily/,
      { verify: verifyOptionSources },
    );
  });

  test('credentials may not be put in a job file', () => {
    rejects(
      { job: { command: 'status', schedule: '0 * * * *', options: { token: 'hvs.x' } } },
      /token may not be set in a job file/,
    );
  });

  test('job files accept every login method through its options; credentials themselves stay out (#27)', () => {
    const logins: Array<Record<string, string>> = [
      { authMethod: 'jwt', authRole: 'vault-ops-snapshot', jwtEnv: 'CI_JOB_JWT' },
      { authMethod: 'cert', clientCert: '/etc/vault-ops/client.pem', clientKey: '/etc/vault-ops/client.key' },
      { authMethod: 'ldap', username: 'svc-backup', authPasswordFile: '/run/secrets/ldap' },
      { authMethod: 'userpass', username: 'svc-backup', authPasswordFile: '/run/secrets/userpass' },
    ];
    for (const options of logins) {
      const job = parseJobDefinition(
        { job: { command: 'snapshot save', schedule: '0 * * * *', options } },
        '/etc/jobs/save.yaml',
        jobCommandOptions(),
        globalJobKeys(),
      );
      assert.deepEqual(jobArguments(job).slice(0, 4), ['snapshot', 'save', '--auth-method', options.authMethod]);
    }
    rejects(
      { job: { command: 'status', schedule: '0 * * * *', options: { authMethod: 'ldap', password: 'hunter2' } } },
      /status has no option --password/,
      jobCommandOptions(),
    );
    const schema = JSON.stringify(jobFileJsonSchema());
    for (const key of ['authPasswordFile', 'jwtEnv', 'clientCert', 'clientKey', 'username'])
      assert.match(schema, new RegExp(key));
  });

  test('secrets: belongs to a rotate kv job only; a rotate kv job needs a policy', () => {
    const secrets = [{ mount: 'secret', path: 'a', every: '30d', keys: { k: {} } }];
    rejects({ job: { command: 'verify', schedule: '0 * * * *' }, secrets }, /only a rotate kv job/);
    rejects({ job: { command: 'rotate kv', schedule: '0 * * * *' } }, /needs its policy/);
    const other = parseJobDefinition(
      { job: { command: 'rotate kv', schedule: '0 * * * *', options: { policy: 'policies/kv.yaml' } } },
      '/etc/jobs/kv.yaml',
    );
    assert.equal(other.options.policy, '/etc/jobs/policies/kv.yaml');
  });

  test('job names come from the file name unless set; 6-field schedules have seconds', () => {
    const j = parseJobDefinition({ job: { command: 'status', schedule: '*/5 * * * * *' } }, '/x/health-probe.yaml');
    assert.equal(j.name, 'health-probe');
    assert.equal(j.enabled, true);
    const runs = nextRuns(j.schedule, 3);
    assert.equal(runs.length, 3);
    assert.equal((runs[1]!.getTime() - runs[0]!.getTime()) / 1000, 5);
    assert.throws(
      () => parseJobDefinition({ job: { command: 'status', schedule: '0 * * * *' } }, '/x/Bad_Name.yaml'),
      /set job\.name/,
    );
  });

  test('next runs are in UTC', () => {
    const runs = nextRuns('30 4 * * *', 2);
    assert.equal(runs[0]!.getUTCHours(), 4);
    assert.equal(runs[0]!.getUTCMinutes(), 30);
  });
});
