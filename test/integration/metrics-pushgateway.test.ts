import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { startPushgateway, type ExposedSeries, type PushgatewayTestbed } from '../testbed/pushgateway.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * Several releases (clusters) and several stores share one real Pushgateway: the grouping key
 * (job, vault_cluster, and store for the jobs on a store) keeps every cluster's and every store's
 * series apart, where grouping by job alone let the last push replace the others.
 */
let vault: VaultTestbed;
let gateway: PushgatewayTestbed;
let dir: string;
let env: Record<string, string>;
/** The cluster name the server reports (sys/seal-status): the default vault_cluster. */
let reportedName: string;

before(async () => {
  [vault, gateway] = await Promise.all([startVault(), startPushgateway()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-pushgateway-'));
  const drillTmp = join(dir, 'tmp');
  await mkdir(drillTmp);
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    VAULT_OPS_PUSHGATEWAY: gateway.url,
    TMPDIR: drillTmp,
  };
  await seedSecrets(vault.addr, vault.rootToken, { count: 2 });
  const status = (await (await fetch(`${vault.addr}/v1/sys/seal-status`)).json()) as { cluster_name?: string };
  assert.ok(status.cluster_name, 'the server reports a cluster name');
  reportedName = status.cluster_name;
});
after(async () => {
  await Promise.allSettled([vault?.stop(), gateway?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const of = (series: ExposedSeries[], name: string) =>
  series
    .filter((s) => s.name === name)
    .map((s) => `${s.labels.job} ${s.labels.vault_cluster} ${s.labels.store ?? '-'}`)
    .sort();

describe(onServer('metrics: one Pushgateway, two clusters, two stores'), () => {
  test('snapshot save and prune keep a series per cluster and per store', async () => {
    const eu = join(dir, 'eu');
    const us = join(dir, 'us');
    const [euUrl, usUrl] = [`file://${eu}`, `file://${us}`];
    // The cluster as Vault names it (nothing configured), to two stores at once …
    const first = await runCli(['snapshot', 'save', '--to', eu, '--to', us, '--output', 'json'], env);
    assert.equal(first.code, 0, first.stderr);
    // … and the same server as a second release would name it, to one store.
    const second = await runCli(['snapshot', 'save', '--to', eu, '--vault-cluster-name', 'prod-us'], env);
    assert.equal(second.code, 0, second.stderr);

    let series = await gateway.series();
    assert.deepEqual(
      of(series, 'vault_ops_snapshot_last_success_timestamp_seconds'),
      [
        `vault-ops-snapshot ${reportedName} ${euUrl}`,
        `vault-ops-snapshot ${reportedName} ${usUrl}`,
        `vault-ops-snapshot prod-us ${euUrl}`,
      ].sort(),
    );
    const firstTime = Date.parse(first.json().createdAt) / 1000;
    const kept = series.find(
      (s) =>
        s.name === 'vault_ops_snapshot_last_success_timestamp_seconds' &&
        s.labels.vault_cluster === reportedName &&
        s.labels.store === usUrl,
    );
    assert.equal(kept?.value, firstTime, "the second cluster's push replaced nothing of the first's");
    // The run-wide series (key counts) reach each store's group, labelled with that store.
    assert.ok(
      series.some(
        (s) =>
          s.name === 'vault_ops_snapshot_keys' && s.labels.store === usUrl && s.labels.vault_cluster === reportedName,
      ),
    );

    for (const store of [eu, us]) {
      const pruned = await runCli(['snapshot', 'prune', '--from', store, '--keep-last', '1'], env);
      assert.equal(pruned.code, 0, pruned.stderr);
    }
    series = await gateway.series();
    assert.deepEqual(of(series, 'vault_ops_prune_last_success_timestamp_seconds'), [
      `vault-ops-prune ${reportedName} ${euUrl}`,
      `vault-ops-prune ${reportedName} ${usUrl}`,
    ]);
    const removed = series
      .filter((s) => s.name === 'vault_ops_prune_snapshots' && s.labels.outcome === 'removed')
      .map((s) => `${s.labels.store} ${s.value}`)
      .sort();
    // eu held two snapshots (one per "cluster", the same server), us one: each store's own figure survives.
    assert.deepEqual(removed, [`${euUrl} 1`, `${usUrl} 0`]);
  });

  test('verify: the drilled store and the cluster its snapshot records; a failed push is a warning', async () => {
    const keys = join(dir, 'unseal-keys');
    await writeFile(keys, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
    const us = join(dir, 'us');
    const drilled = await runCli(['verify', '--from', us, '--unseal-keys-file', keys], env);
    assert.equal(drilled.code, 0, drilled.stderr + drilled.stdout);
    const series = await gateway.series();
    assert.deepEqual(of(series, 'vault_ops_verify_passed'), [`vault-ops-verify ${reportedName} file://${us}`]);

    // A Pushgateway that is gone: the job's own result stands, the push failure is one warning.
    const unreachable = await runCli(['snapshot', 'prune', '--from', us, '--keep-last', '1'], {
      ...env,
      VAULT_OPS_PUSHGATEWAY: 'http://127.0.0.1:9',
    });
    assert.equal(unreachable.code, 0, unreachable.stderr);
    assert.match(unreachable.stderr, /could not push metrics to the Pushgateway/);
  });
});
