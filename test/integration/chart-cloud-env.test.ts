import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART, helm } from '../helpers/helm.js';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { startAzurite, type AzuriteTestbed } from '../testbed/azurite.js';
import { startGcs, type GcsTestbed } from '../testbed/gcs.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * What the chart renders for an az:// or gs:// store is what vault-ops understands: the snapshot
 * CronJob's environment (store, account, endpoint, the variable naming the mounted credentials
 * file) is taken as rendered, the Secret's key written where the pod would see it, and
 * `vault-ops snapshot save` run with it against Azurite and fake-gcs-server; the verify CronJob's
 * environment then lists the snapshot. The process stands in for the container (the Vault login is
 * the test's token), so every credential form runs here in seconds; chart-pods-clouds.test.ts runs
 * the snapshot job as a real pod against Azurite and fake-gcs-server.
 */

const MOUNT = '/etc/vault-ops/store-credentials/main';

let vault: VaultTestbed;
let az: AzuriteTestbed;
let gcs: GcsTestbed;
let dir: string;

before(async () => {
  [vault, az, gcs] = await Promise.all([startVault(), startAzurite(), startGcs()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-chart-cloud-env-'));
  await az.createContainer('snapshots');
  await gcs.createBucket('vault-snapshots');
  await seedSecrets(vault.addr, vault.rootToken, { count: 2 });
});
after(async () => {
  await Promise.allSettled([vault?.stop(), az?.stop(), gcs?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A CronJob's plain environment as rendered (values only: Secret references have none here). */
async function renderedEnv(name: string, values: object, job: string): Promise<Record<string, string>> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify({ ...values, signing: { enabled: false }, fullnameOverride: 'vops' }));
  const r = await helm(['template', 'vops', CHART, '-f', file], { home: dir });
  assert.equal(r.code, 0, r.stderr);
  const cj = parseAllDocuments(r.stdout)
    .map((d) => d.toJS())
    .find((m) => m?.kind === 'CronJob' && m.metadata.name === `vops-${job}`);
  assert.ok(cj, `CronJob vops-${job}`);
  const env: Record<string, string> = {};
  for (const e of cj.spec.jobTemplate.spec.template.spec.containers[0].env) {
    assert.equal(e.valueFrom, undefined, `${e.name}: no value from a Secret for this store`);
    env[e.name] = e.value;
  }
  return env;
}

/** The pod's view, on this machine: the mounted Secret's files in a folder, the Vault login the test's. */
async function asLocalProcess(env: Record<string, string>, secretFiles: Record<string, string>, name: string) {
  const mount = join(dir, name, 'credentials');
  await mkdir(mount, { recursive: true });
  for (const [file, content] of Object.entries(secretFiles))
    await writeFile(join(mount, file), content, { mode: 0o440 });
  const local: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^VAULT_OPS_(AUTH_|JWT_FILE)|^VAULT_ADDR$|^(TMPDIR|HOME)$/.test(k)) continue;
    local[k] = v.replaceAll(MOUNT, mount);
  }
  return { ...local, VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, TMPDIR: dir, HOME: dir };
}

const azureStore = (credentials: object, account = true) => ({
  store: {
    url: 'az://snapshots/prod',
    azure: { ...(account ? { account: az.account } : {}), endpoint: az.endpoint },
    credentials: { existingSecret: 'azure-store', ...credentials },
  },
});

describe(onServer('chart environment for az:// and gs:// stores, run by vault-ops'), () => {
  const forms: Array<[string, () => object, () => Record<string, string>]> = [
    ['account key', () => azureStore({ azureAccountKeyKey: 'key' }), () => ({ 'azure-account-key': az.accountKey })],
    ['SAS', () => azureStore({ azureSasKey: 'sas' }), () => ({ 'azure-sas': az.sas() })],
    [
      'connection string',
      () => azureStore({ azureConnectionStringKey: 'cs' }, false),
      () => ({ 'azure-connection-string': az.connectionString }),
    ],
  ];
  for (const [form, values, files] of forms) {
    test(`Azure ${form}: the snapshot job's environment saves to Azurite, the verify job's lists it`, async () => {
      const name = `az-${form.replace(/ /g, '-')}`;
      const save = await asLocalProcess(await renderedEnv(name, values(), 'snapshot'), files(), name);
      const saved = await runCli(['snapshot', 'save', '--output', 'json'], save);
      assert.equal(saved.code, 0, saved.stderr);
      const id = saved.json().id as string;
      assert.ok((await az.listKeys('snapshots', 'prod/')).includes(`prod/${id}.snap`));
      for (const secret of [az.accountKey, ...az.connectionString.split(';')].filter((s) => s.length > 20))
        assert.ok(!saved.all.includes(secret), 'no credential in the output');

      const read = await asLocalProcess(await renderedEnv(name, values(), 'verify'), files(), `${name}-verify`);
      // list reads the store from VAULT_OPS_SNAPSHOT_STORE, as verify does in that pod.
      const listed = await runCli(['snapshot', 'list', '--output', 'json'], read);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(listed.json().snapshots.some((s: any) => s.id === id));
    });
  }

  test("GCS key file: the snapshot job's environment saves to fake-gcs-server", async () => {
    const values = {
      store: {
        url: 'gs://vault-snapshots/prod',
        gcs: { endpoint: gcs.endpoint },
        credentials: { existingSecret: 'gcs-store', gcsServiceAccountKeyKey: 'key.json' },
      },
    };
    const env = await renderedEnv('gs-key', values, 'snapshot');
    assert.equal(env.VAULT_OPS_GCS_CREDENTIALS_FILE, `${MOUNT}/gcs-service-account.json`);
    // fake-gcs-server over plain http takes no credentials; the file must still be there and readable.
    const local = await asLocalProcess(env, { 'gcs-service-account.json': '{"type":"service_account"}' }, 'gs-key');
    const saved = await runCli(['snapshot', 'save', '--output', 'json'], local);
    assert.equal(saved.code, 0, saved.stderr);
    assert.ok((await gcs.listKeys('vault-snapshots', 'prod/')).includes(`prod/${saved.json().id}.snap`));

    const missing = await runCli(['snapshot', 'save'], { ...local, VAULT_OPS_GCS_CREDENTIALS_FILE: `${MOUNT}/gone` });
    assert.equal(missing.code, 2, 'an unmounted key file is a configuration error');
    assert.match(missing.stderr, /cannot read the GCS credentials file/);
  });
});
