import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * The metrics each job reports, end to end through --metrics-textfile: the library reports how
 * the job ended (typed reporters), the CLI publishes, and a failed run never erases the time of
 * the last success (node-exporter's textfile collector keeps exporting what the file says).
 */
let vault: VaultTestbed;
let dir: string;
let env: Record<string, string>;

const gauge = (text: string, name: string): number | undefined => {
  // The snapshot job's series carry a `store` label (one series per destination).
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

before(async () => {
  vault = await startVault();
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-metrics-'));
  const drillTmp = join(dir, 'tmp');
  await mkdir(drillTmp);
  process.env.TMPDIR = drillTmp;
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    TMPDIR: drillTmp,
  };
  await seedSecrets(vault.addr, vault.rootToken, { count: 3 });
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('metrics: what each job reports reaches the textfile'), () => {
  test('snapshot save: success figures, then a failed save adds its reason and keeps the last success', async () => {
    const store = join(dir, 'store');
    const file = join(dir, 'snapshot.prom');
    const ok = await runCli(['snapshot', 'save', '--to', store, '--metrics-textfile', file, '--output', 'json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    const manifest = ok.json();
    const first = await readFile(file, 'utf8');
    assert.equal(
      gauge(first, 'vault_ops_snapshot_last_success_timestamp_seconds'),
      Date.parse(manifest.createdAt) / 1000,
    );
    assert.equal(gauge(first, 'vault_ops_snapshot_bytes'), manifest.archive.bytes);
    assert.equal(gauge(first, 'vault_ops_snapshot_shrunk'), 0);
    assert.match(first, /^vault_ops_snapshot_keys\{prefix="[^"]+",vault_cluster="[^"]+"\} \d+$/m);

    // Nothing listens on port 9 (discard) of loopback: the save fails before anything is stored.
    const failed = await runCli(['snapshot', 'save', '--to', store, '--metrics-textfile', file], {
      ...env,
      VAULT_ADDR: 'http://127.0.0.1:9',
    });
    assert.notEqual(failed.code, 0, 'a save from an unreachable server fails');
    const second = await readFile(file, 'utf8');
    assert.match(
      second,
      /^vault_ops_snapshot_failures_total\{reason="[a-z-]+",store="[^"]+",vault_cluster="unknown"\} 1$/m,
    );
    assert.ok(gauge(second, 'vault_ops_snapshot_last_failure_timestamp_seconds')! > 0);
    assert.equal(
      gauge(second, 'vault_ops_snapshot_last_success_timestamp_seconds'),
      Date.parse(manifest.createdAt) / 1000,
      'the failed run kept the last success',
    );
  });

  test('verify: a passed drill and a drill that cannot run', async () => {
    const store = join(dir, 'store');
    const keys = join(dir, 'unseal-keys');
    await writeFile(keys, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
    const file = join(dir, 'verify.prom');
    const passed = await runCli(
      ['verify', '--from', store, '--unseal-keys-file', keys, '--metrics-textfile', file],
      env,
    );
    assert.equal(passed.code, 0, passed.stderr + passed.stdout);
    const first = await readFile(file, 'utf8');
    assert.equal(gauge(first, 'vault_ops_verify_passed'), 1);
    const lastSuccess = gauge(first, 'vault_ops_verify_last_success_timestamp_seconds');
    assert.ok(lastSuccess! > 0);
    assert.ok(gauge(first, 'vault_ops_verify_restore_seconds')! > 0);
    assert.match(
      first,
      /^vault_ops_verify_phase_seconds\{phase="restore",vault_cluster="[^"]+",store="file:\/\/[^"]+"\} [\d.]+$/m,
    );
    assert.ok(gauge(first, 'vault_ops_verify_snapshot_age_seconds')! >= 0);
    // The store's one snapshot now has a passing drill: its age when verify ended.
    const listed = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
    const drilled = listed.json().snapshots[0];
    assert.equal(drilled.lastDrill.passed, true);
    const verifiedAge = gauge(first, 'vault_ops_snapshot_newest_verified_age_seconds')!;
    const expected = (Date.parse(drilled.lastDrill.finishedAt) - Date.parse(drilled.createdAt)) / 1000;
    assert.ok(Math.abs(verifiedAge - expected) < 2, `${verifiedAge} ≈ ${expected}`);

    const missing = await runCli(
      [
        'verify',
        '--from',
        store,
        '--snapshot',
        '20200101T000000Z-000000',
        '--unseal-keys-file',
        keys,
        '--metrics-textfile',
        file,
      ],
      env,
    );
    assert.notEqual(missing.code, 0);
    const second = await readFile(file, 'utf8');
    assert.equal(gauge(second, 'vault_ops_verify_passed'), 0, 'a drill that could not run counts as not passed');
    assert.equal(
      gauge(second, 'vault_ops_verify_last_success_timestamp_seconds'),
      lastSuccess,
      'and keeps the last success',
    );
    assert.ok(
      gauge(second, 'vault_ops_snapshot_newest_verified_age_seconds')! >= verifiedAge,
      'read from the catalogue again: the verified snapshot is older now',
    );
  });

  test('snapshot prune: what it kept and removed; a dry run reports nothing', async () => {
    const store = join(dir, 'store');
    const saved = await runCli(['snapshot', 'save', '--to', store], env);
    assert.equal(saved.code, 0, saved.stderr);
    const file = join(dir, 'prune.prom');
    const dry = await runCli(
      ['snapshot', 'prune', '--from', store, '--keep-last', '1', '--dry-run', '--metrics-textfile', file],
      env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    await assert.rejects(readFile(file, 'utf8'), { code: 'ENOENT' }, 'a dry run changed nothing and reports nothing');
    const pruned = await runCli(
      ['snapshot', 'prune', '--from', store, '--keep-last', '1', '--metrics-textfile', file],
      env,
    );
    assert.equal(pruned.code, 0, pruned.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^vault_ops_prune_snapshots\{outcome="kept",vault_cluster="[^"]+",store="file:\/\/[^"]+"\} 1$/m);
    assert.match(text, /^vault_ops_prune_snapshots\{outcome="removed",vault_cluster="[^"]+",store="[^"]+"\} 1$/m);
    assert.ok(gauge(text, 'vault_ops_prune_last_success_timestamp_seconds')! > 0);
  });
});
