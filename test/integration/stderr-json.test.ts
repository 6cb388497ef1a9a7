import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AzuriteTestbed, startAzurite } from '../testbed/azurite.js';
import { type GcsTestbed, startGcs } from '../testbed/gcs.js';
import { type S3Testbed, startS3 } from '../testbed/s3.js';

/**
 * Issue 23: no warning from a dependency ever reaches stderr as a non-JSON line. The CLI runs as a
 * real process (as a CronJob runs it: stderr is a pipe, so logs are JSON lines) against each object
 * store's SDK (AWS S3 on versitygw, Azure Blob on Azurite, Google Cloud Storage on
 * fake-gcs-server), and every line it writes to stderr must be a JSON log record. Once as users run
 * it, and once with NODE_PENDING_DEPRECATION=1, which makes Node report the deprecated APIs that
 * dependencies use (warnings it keeps quiet for code under node_modules otherwise): whatever Node
 * reports must arrive as a log record too, not as Node's own `(node:PID) …` line (on Node 22 a
 * dependency of the stores' SDKs calls `url.parse()`, DEP0169; on Node 20 the AWS SDK warned about
 * the runtime and `punycode`, DEP0040, showed up).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = join(root, 'src/cli/entry.ts');

let s3: S3Testbed;
let az: AzuriteTestbed;
let gcs: GcsTestbed;
let home: string;

before(async () => {
  [s3, az, gcs] = await Promise.all([startS3(), startAzurite(), startGcs()]);
  home = await mkdtemp(join(tmpdir(), 'vault-ops-stderr-'));
  await Promise.all([s3.createBucket('logs'), az.createContainer('logs'), gcs.createBucket('logs')]);
});
after(async () => {
  await Promise.allSettled([s3?.stop(), az?.stop(), gcs?.stop()]);
  if (home) await rm(home, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a process, with nothing from the developer's shell but PATH. */
function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ENTRY, ...args],
      { cwd: root, env: { PATH: process.env.PATH, HOME: home, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Each stderr line, parsed: fails naming the first line that is not a JSON log record. */
function records(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        assert.fail(`stderr line is not JSON: ${line}\n--- all of stderr:\n${stderr}`);
      }
      assert.ok(record && typeof record === 'object', `not a log record: ${line}`);
      const r = record as Record<string, unknown>;
      assert.equal(typeof r.level, 'number', `no level: ${line}`);
      assert.equal(typeof r.time, 'string', `no time: ${line}`);
      assert.equal(typeof r.msg, 'string', `no msg: ${line}`);
      return r;
    });
}

const stores: { name: string; url: string; env(): Record<string, string> }[] = [
  { name: 'S3 (versitygw)', url: 's3://logs/json', env: () => s3.cliEnv() },
  {
    name: 'Azure Blob (Azurite)',
    url: 'az://logs/json',
    env: () => ({
      AZURE_STORAGE_ACCOUNT: az.account,
      AZURE_STORAGE_KEY: az.accountKey,
      VAULT_OPS_AZURE_ENDPOINT: az.endpoint,
    }),
  },
  { name: 'GCS (fake-gcs-server)', url: 'gs://logs/json', env: () => ({ VAULT_OPS_GCS_ENDPOINT: gcs.endpoint }) },
];

for (const pending of [false, true]) {
  describe(pending ? 'with NODE_PENDING_DEPRECATION=1' : 'as users run it', () => {
    for (const store of stores) {
      test(`${store.name}: every stderr line is a JSON log record`, async () => {
        const env = { ...store.env(), ...(pending ? { NODE_PENDING_DEPRECATION: '1' } : {}) };
        for (const args of [
          ['snapshot', 'list', '--from', store.url, '--log-level', 'debug'],
          ['snapshot', 'prune', '--from', store.url, '--keep-last', '1', '--dry-run', '--log-level', 'debug'],
        ]) {
          const run = await cli(args, env);
          assert.equal(run.code, 0, `${args.join(' ')}: exit ${run.code}\n${run.stderr}`);
          const logged = records(run.stderr);
          if (!pending) {
            // Node 22 and 24 are supported: the AWS SDK has nothing to say about the runtime.
            assert.ok(
              !logged.some((r) => /node\.?js|runtime/i.test(String(r.msg)) && /version|support/i.test(String(r.msg))),
              run.stderr,
            );
          }
        }
      });
    }
  });
}
