import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from '../testbed/ports.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * `vault-ops daemon` as a real process: jobs scheduled every few seconds run (each as its own
 * child process), a slow job never overlaps itself, /metrics and /healthz answer on loopback, and
 * SIGTERM stops it cleanly: running jobs finish within the grace, or are stopped after it.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let jobsDir: string;
let hang: Server;
let hangPort: number;
const sockets = new Set<Socket>();
let env: Record<string, string>;

interface LogLine {
  msg: string;
  job?: string;
  runId?: string;
  result?: string;
  [k: string]: unknown;
}

interface RunningDaemon {
  child: ChildProcess;
  port: number;
  logs(): LogLine[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startDaemon(graceSeconds: number): Promise<RunningDaemon> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/entry.ts',
      'daemon',
      '--jobs',
      jobsDir,
      '--http-port',
      String(port),
      '--shutdown-grace-seconds',
      String(graceSeconds),
      '--output',
      'json',
    ],
    {
      cwd: root,
      env: { ...env, PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as LogLine;
        } catch {
          return { msg: l };
        }
      });
  await waitFor(
    () => logs().some((l) => l.msg.startsWith('daemon started')),
    30_000,
    () => stderr,
  );
  return { child, port, logs, exited };
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  detail: () => string = () => '',
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${ms} ms: ${detail().slice(-3000)}`);
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, text: await r.text() };
}

/** The daemon's own log lines of one job, in order: started / finished / failed / skipped. */
const events = (logs: LogLine[], job: string) =>
  logs
    .filter(
      (l) => l.job === job && /^(job started|job finished|job failed|job aborted|job timeout|run skipped)/.test(l.msg),
    )
    .map((l) => l.msg.split(':')[0]!);

/** Processes (other than the test) whose command line mentions the test dir: left-over jobs. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(dir)) found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
  }
  return found;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-daemon-'));
  jobsDir = join(dir, 'jobs');
  await mkdir(jobsDir);
  await mkdir(join(dir, 'store'));
  // A "Vault" that accepts connections and never answers: a status run takes its whole request timeout.
  hang = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  hangPort = (hang.address() as { port: number }).port;
  env = {
    VAULT_ADDR: `http://127.0.0.1:${hangPort}`,
    VAULT_TOKEN: 'daemon-test-token-value',
    VAULT_OPS_LOG_LEVEL: 'info',
    VAULT_OPS_VAULT_CLUSTER_NAME: 'vm-cluster',
  };
  await writeFile(
    join(jobsDir, 'quick.yaml'),
    stringify({
      job: {
        command: 'snapshot prune',
        schedule: '*/2 * * * * *',
        options: { from: join(dir, 'store'), keepLast: 3, dryRun: true },
      },
    }),
  );
  await writeFile(
    join(jobsDir, 'slow.yaml'),
    stringify({
      job: { command: 'status', schedule: '* * * * * *', timeout: '30s', options: { requestTimeoutSeconds: 3 } },
    }),
  );
  await writeFile(
    join(jobsDir, 'off.yaml'),
    stringify({ job: { command: 'status', schedule: '* * * * * *', enabled: false } }),
  );
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => hang?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('vault-ops daemon', () => {
  test('--check validates the definitions and prints the next runs; a bad file is named', async () => {
    const r = await runCli(['daemon', '--jobs', jobsDir, '--check', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const jobs = r.json().jobs as Array<{ name: string; enabled: boolean; nextRuns: string[]; args: string[] }>;
    assert.deepEqual(
      jobs.map((j) => [j.name, j.enabled]),
      [
        ['off', false],
        ['quick', true],
        ['slow', true],
      ],
    );
    assert.equal(jobs[1]!.nextRuns.length, 3);
    assert.deepEqual(jobs[2]!.args, ['status', '--request-timeout-seconds', '3']);

    const bad = join(dir, 'bad-jobs');
    await mkdir(bad);
    await writeFile(
      join(bad, 'typo.yaml'),
      stringify({ job: { command: 'snapshot save', schedule: '0 * * * *', options: { keepDialy: 3 } } }),
    );
    const b = await runCli(['daemon', '--jobs', bad, '--check']);
    assert.equal(b.code, 2, b.all);
    assert.match(b.stderr, /typo\.yaml: job\.options\.keepDialy: snapshot save has no option --keep-dialy/);
  });

  test('--once runs one job now and exits with its status (what the CronJobs run)', async () => {
    const ok = await runCli(['daemon', '--jobs', jobsDir, '--once', 'quick'], env);
    assert.equal(ok.code, 0, ok.all);
    const failed = await runCli(['daemon', '--jobs', jobsDir, '--once', 'slow', '--request-timeout-seconds', '1'], env);
    assert.equal(failed.code, 1, failed.all);
    // The job's own one-line error is the only one: --once adds no second line for a job that said why.
    const errors = failed.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(errors.length, 1, failed.stderr);
    assert.doesNotMatch(errors[0]!, /^error: job slow /, 'the cause, not a closing line');
    assert.match(failed.stderr, /"msg":"job failed"/, "the daemon's log line names the failed run");
    const unknown = await runCli(['daemon', '--jobs', jobsDir, '--once', 'nope'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--once nope: no such job .* \(have off, quick, slow\)/);
  });

  test(
    'scheduled every few seconds: runs, never overlaps a slow run, serves /metrics and /healthz; SIGTERM lets the ' +
      'running job finish',
    async () => {
      const d = await startDaemon(20);
      try {
        await waitFor(
          async () =>
            /vault_ops_daemon_job_runs_total\{job_name="quick",result="success"(,[^}]*)?\} [2-9]/.test(
              (await get(d.port, '/metrics')).text,
            ),
          20_000,
          () => JSON.stringify(d.logs()),
        );
        // The slow job (3 s per run, scheduled every second) has run and finished at least once.
        await waitFor(
          () => events(d.logs(), 'slow').includes('job failed'),
          20_000,
          () => JSON.stringify(d.logs()),
        );

        const metrics = (await get(d.port, '/metrics')).text;
        assert.match(metrics, /vault_ops_daemon_job_skipped_total\{job_name="slow",reason="overlap"(,[^}]*)?\} [1-9]/);
        assert.match(metrics, /vault_ops_daemon_job_runs_total\{job_name="slow",result="failed"(,[^}]*)?\} [1-9]/);
        assert.match(metrics, /vault_ops_daemon_job_consecutive_failures\{job_name="slow"(,[^}]*)?\} [1-9]/);
        assert.match(metrics, /vault_ops_daemon_job_last_success_timestamp_seconds\{job_name="quick"(,[^}]*)?\} \d+/);
        assert.doesNotMatch(metrics, /job_name="off"/, 'a disabled job never runs');
        // Every series names the cluster the daemon's environment gives (its jobs get the same variable).
        for (const line of metrics.split('\n').filter((l) => l.startsWith('vault_ops_daemon_')))
          assert.match(line, /vault_cluster="vm-cluster"/, line);
        const health = await get(d.port, '/healthz');
        assert.equal(health.status, 200);
        const h = JSON.parse(health.text);
        assert.equal(h.status, 'ok');
        assert.deepEqual(
          h.jobs.map((j: { name: string }) => j.name),
          ['off', 'quick', 'slow'],
        );
        assert.equal(h.jobs[1].lastRun.result, 'success');
        assert.match(h.jobs[1].nextRun, /^\d{4}-\d\d-\d\dT/);
        assert.equal((await get(d.port, '/nope')).status, 404);

        // No overlap: the slow job's own start/end lines strictly alternate, with skipped ticks between.
        const slow = events(d.logs(), 'slow').filter((e) => e !== 'run skipped');
        slow.forEach((e, i) =>
          assert.equal(e, i % 2 === 0 ? 'job started' : 'job failed', `slow run events: ${slow.join(', ')}`),
        );
        assert.ok(events(d.logs(), 'slow').includes('run skipped'));

        // SIGTERM while the slow job runs: it finishes (not aborted), then the daemon exits 0.
        await waitFor(async () => JSON.parse((await get(d.port, '/healthz')).text).jobs[2].state === 'running', 10_000);
        const runsBefore = events(d.logs(), 'slow').filter((e) => e === 'job started').length;
        d.child.kill('SIGTERM');
        const exit = await d.exited;
        assert.deepEqual(exit, { code: 0, signal: null }, JSON.stringify(d.logs().slice(-8)));
        const logs = d.logs();
        const stopAt = logs.findIndex((l) => l.msg.startsWith('shutting down'));
        assert.ok(stopAt > 0);
        const afterStop = logs.slice(stopAt);
        assert.ok(
          afterStop.some((l) => l.job === 'slow' && l.msg === 'job failed' && l.result === 'failed'),
          'the running job ran to its end',
        );
        assert.ok(!afterStop.some((l) => l.msg === 'job started'), 'nothing started after SIGTERM');
        assert.equal(events(logs, 'slow').filter((e) => e === 'job started').length, runsBefore);
        assert.equal(logs.at(-1)!.msg, 'daemon stopped');
        assert.ok(!JSON.stringify(logs).includes('daemon-test-token-value'), 'the token never reaches argv or logs');
        assert.deepEqual(await leftovers(), []);
      } finally {
        if (d.child.exitCode === null) d.child.kill('SIGKILL');
      }
    },
  );

  test(
    'SIGTERM with a short grace: the running job is stopped (SIGTERM to it), the daemon exits 0, nothing is ' + 'left',
    async () => {
      const d = await startDaemon(0.2);
      try {
        await waitFor(
          async () => JSON.parse((await get(d.port, '/healthz')).text).jobs[2].state === 'running',
          20_000,
          () => JSON.stringify(d.logs()),
        );
        await sleep(1_200); // the child is past its start-up, inside its request
        const t0 = Date.now();
        d.child.kill('SIGTERM');
        const exit = await d.exited;
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.ok(Date.now() - t0 < 8_000, 'stopped promptly');
        const stopped = d.logs().find((l) => l.job === 'slow' && l.msg === 'job aborted');
        assert.ok(stopped, JSON.stringify(d.logs().slice(-8)));
        assert.equal(stopped.result, 'aborted');
        assert.deepEqual(await leftovers(), []);
      } finally {
        if (d.child.exitCode === null) d.child.kill('SIGKILL');
      }
    },
  );
});
