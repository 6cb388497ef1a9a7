import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { VaultOpsError } from '../../src/errors.js';
import { openSnapshotStore, parseStoreUrl } from '../../src/store/open-store.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { runCli } from '../helpers/run-cli.js';
import { startAzurite, type AzuriteTestbed } from '../testbed/azurite.js';
import { storeContract } from './store-contract.js';

let az: AzuriteTestbed;
let counter = 0;
let secretsDir: string;

before(async () => {
  az = await startAzurite();
  secretsDir = await mkdtemp(join(tmpdir(), 'vault-ops-azure-secrets-'));
  console.log(`testbed: azurite ${az.version} at ${az.endpoint}`);
});
after(async () => {
  await az?.stop();
  if (secretsDir) await rm(secretsDir, { recursive: true, force: true });
});

const keyEnv = () => ({ AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_KEY: az.accountKey });
async function freshContainer(): Promise<string> {
  const name = `contract-${++counter}`;
  await az.createContainer(name);
  return name;
}
async function freshStore(prefix = 'vault/prod'): Promise<SnapshotStore> {
  return openSnapshotStore(
    `az://${await freshContainer()}/${prefix}`,
    { azureEndpoint: az.endpoint, azureAccount: az.account },
    keyEnv(),
  );
}
async function secretFile(name: string, value: string): Promise<string> {
  const path = join(secretsDir, name);
  await writeFile(path, `${value}\n`);
  await chmod(path, 0o600);
  return path;
}

storeContract('Azure Blob store (Azurite)', () => freshStore());
storeContract('Azure Blob store without a prefix', () => freshStore(''));

test('az:// URLs: container name rules, prefix normalised', () => {
  assert.deepEqual(parseStoreUrl('az://backups/vault/prod/'), {
    kind: 'azure',
    container: 'backups',
    prefix: 'vault/prod',
  });
  assert.deepEqual(parseStoreUrl('az://my-backups-01'), { kind: 'azure', container: 'my-backups-01', prefix: '' });
  for (const bad of ['az://ab/x', 'az://Backups/x', 'az://-backups', 'az://back--ups', 'az://backups-', 'az://a_b']) {
    assert.throws(
      () => parseStoreUrl(bad),
      (e: VaultOpsError) => e.code === 'usage' && /invalid Azure container name/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parseStoreUrl(`az://${'a'.repeat(64)}`), /invalid Azure container name/);
});

test('Azure store: a missing container is a clear store error', async () => {
  await assert.rejects(
    openSnapshotStore('az://no-such-container/x', { azureEndpoint: az.endpoint }, keyEnv()),
    (e: VaultOpsError) => e.code === 'store' && /container no-such-container does not exist/.test(e.message),
  );
});

test('Azure store: a wrong key is a clear store error that does not echo it', async () => {
  const container = await freshContainer();
  const wrongKey = randomBytes(64).toString('base64');
  await assert.rejects(
    openSnapshotStore(
      `az://${container}/x`,
      { azureEndpoint: az.endpoint },
      { AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_KEY: wrongKey },
    ),
    (e: VaultOpsError) => {
      assert.equal(e.code, 'store');
      assert.match(e.message, /Azure (rejected the credentials|denied access)/);
      assert.ok(!e.message.includes(wrongKey));
      return true;
    },
  );
});

test('Azure store: Azurite has no versioning nor immutability (detected as absent); retention refused', async () => {
  // Azurite implements neither blob versioning nor immutability policies / legal holds (its
  // SetImmutabilityPolicy and SetLegalHold answer 501): what can be tested here is that their
  // absence is detected, and that a put asking for retention fails before sending anything.
  const store = await freshStore();
  try {
    assert.deepEqual(store.capabilities, { versioning: false, objectLock: false });
    await assert.rejects(
      store.putBytes(`${store.prefix}/locked.json`, '{}', {
        retention: { mode: 'GOVERNANCE', until: new Date(Date.now() + 86_400_000) },
      }),
      (e: VaultOpsError) => e.code === 'config' && /no version-level immutability/.test(e.message),
    );
    assert.deepEqual(await store.list(), []);
    const versions = await store.listVersions();
    assert.deepEqual(versions, []);
  } finally {
    await store.close();
  }
});

test('Azure store: uncommitted blocks of a killed upload: listed as incomplete, removed by abort', async () => {
  const container = await freshContainer();
  const store = await openSnapshotStore(`az://${container}/p`, { azureEndpoint: az.endpoint }, keyEnv());
  try {
    // What a killed process leaves: blocks staged, never committed.
    const blob = az.client().getContainerClient(container).getBlockBlobClient('p/killed.snap');
    await blob.stageBlock(Buffer.from('block-0').toString('base64'), Buffer.alloc(1024, 1), 1024);
    assert.deepEqual(await store.list(), [], 'uncommitted blocks are not an object');
    const incomplete = await store.listIncomplete();
    assert.deepEqual(
      incomplete.map((u) => u.key),
      ['p/killed.snap'],
    );
    // The catalogue's one call: the committed objects and the uncommitted uploads, from one pass. An empty
    // committed blob lists with length 0 as an uncommitted one does: it stays an object; so does a
    // committed blob with more blocks staged.
    await store.putBytes('p/committed.json', '{}');
    await store.putBytes('p/empty', '');
    await az
      .client()
      .getContainerClient(container)
      .getBlockBlobClient('p/committed.json')
      .stageBlock(Buffer.from('block-1').toString('base64'), Buffer.alloc(16, 2), 16);
    const both = await store.listWithIncomplete!();
    assert.deepEqual(both.objects.map((o) => o.key).sort(), ['p/committed.json', 'p/empty']);
    assert.equal(both.objects.find((o) => o.key === 'p/committed.json')?.bytes, 2);
    assert.deepEqual(
      both.incomplete.map((u) => u.key),
      ['p/killed.snap'],
    );
    await store.delete('p/committed.json');
    await store.delete('p/empty');
    await store.abortIncomplete(incomplete[0]!);
    assert.deepEqual(await store.listIncomplete(), []);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await az.listKeys(container), []);
  } finally {
    await store.close();
  }
});

test('Azure store: a streamed upload is checked block by block (8 MiB blocks, one commit)', async () => {
  const container = await freshContainer();
  const store = await openSnapshotStore(`az://${container}`, { azureEndpoint: az.endpoint }, keyEnv());
  try {
    const data = randomBytes(17 * 1024 * 1024);
    await store.putStream('big.snap', Readable.from([data]));
    const list = await az.client().getContainerClient(container).getBlockBlobClient('big.snap').getBlockList('all');
    assert.deepEqual(
      list.committedBlocks?.map((b) => b.size),
      [8 * 1024 * 1024, 8 * 1024 * 1024, 1024 * 1024],
    );
    assert.deepEqual(list.uncommittedBlocks ?? [], []);
  } finally {
    await store.close();
  }
});

test('Azure credentials: connection string, account + key, SAS (env and files); secrets never in output', async () => {
  const container = await freshContainer();
  const url = `az://${container}/creds`;
  const sas = az.sas();
  const sig = new URLSearchParams(sas).get('sig')!;
  const variants: Array<[string, string[], Record<string, string>]> = [
    ['connection string env', [], { AZURE_STORAGE_CONNECTION_STRING: az.connectionString }],
    ['account + key env', ['--azure-endpoint', az.endpoint], keyEnv()],
    [
      'SAS file',
      ['--azure-endpoint', az.endpoint, '--azure-sas-file', await secretFile('sas', sas)],
      { AZURE_STORAGE_ACCOUNT: az.account },
    ],
    ['SAS env', ['--azure-endpoint', az.endpoint], { AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_SAS_TOKEN: sas }],
    [
      'key file',
      [
        '--azure-account',
        az.account,
        '--azure-endpoint',
        az.endpoint,
        '--azure-key-file',
        await secretFile('key', az.accountKey),
      ],
      {},
    ],
    ['connection string file', ['--azure-connection-string-file', await secretFile('conn', az.connectionString)], {}],
  ];
  for (const [name, flags, env] of variants) {
    const r = await runCli(
      ['snapshot', 'list', '--from', url, '--output', 'json', '--log-level', 'debug', ...flags],
      env,
    );
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.deepEqual(r.json().snapshots, [], name);
    for (const secret of [az.accountKey, sas, sig, az.connectionString])
      assert.ok(!r.all.includes(secret), `${name}: a secret reached the output`);
  }
  // A wrong key in a file: the error names what to check, and neither it nor the real one shows.
  const wrong = randomBytes(64).toString('base64');
  const r = await runCli(
    [
      'snapshot',
      'list',
      '--from',
      url,
      '--log-level',
      'debug',
      '--azure-account',
      az.account,
      '--azure-endpoint',
      az.endpoint,
      '--azure-key-file',
      await secretFile('wrong-key', wrong),
    ],
    {},
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Azure (rejected the credentials|denied access)/);
  assert.ok(!r.all.includes(wrong));
  // Without any credential or account: a configuration error naming the options.
  const none = await runCli(['snapshot', 'list', '--from', url], {});
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no Azure storage account .*--azure-account/);
});

test('Azure endpoint over http: refused off loopback unless --allow-insecure-http; loopback names pass', async () => {
  const container = await freshContainer();
  const url = `az://${container}/x`;
  const refused = await runCli(['snapshot', 'list', '--from', url], {
    ...keyEnv(),
    VAULT_OPS_AZURE_ENDPOINT: `http://blob.example.invalid:10000/${az.account}`,
  });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /^error: refusing plaintext http to the Azure Blob endpoint blob\.example\.invalid:10000: it is not a loopback address .*--allow-insecure-http\n$/,
  );
  // The same rule for a connection string's endpoint.
  const viaConnection = await runCli(['snapshot', 'list', '--from', url], {
    AZURE_STORAGE_CONNECTION_STRING: az.connectionString.replace('127.0.0.1', 'blob.example.invalid'),
  });
  assert.equal(viaConnection.code, 2, viaConnection.stderr);
  assert.match(viaConnection.stderr, /refusing plaintext http to the Azure Blob endpoint/);
  assert.ok(!viaConnection.all.includes(az.accountKey));
  const allowed = await runCli(['snapshot', 'list', '--from', url, '--allow-insecure-http'], {
    ...keyEnv(),
    VAULT_OPS_AZURE_ENDPOINT: `http://blob.example.invalid:10000/${az.account}`,
  });
  assert.notEqual(allowed.code, 2, 'with --allow-insecure-http the rule no longer refuses');
  assert.doesNotMatch(allowed.stderr, /refusing plaintext http/);
  const port = new URL(az.endpoint).port;
  const viaName = await runCli(['snapshot', 'list', '--from', url, '--output', 'json'], {
    ...keyEnv(),
    VAULT_OPS_AZURE_ENDPOINT: `http://localhost:${port}/${az.account}`,
  });
  assert.equal(viaName.code, 0, viaName.stderr);
  assert.deepEqual(viaName.json().snapshots, []);
});

test('Azure store: two writers of one key at once: the commit (If-None-Match: *) lets exactly one win', async () => {
  const container = await freshContainer();
  const store = await openSnapshotStore(`az://${container}`, { azureEndpoint: az.endpoint }, keyEnv());
  try {
    // Both pass the existence check before either commits: only the service's condition decides.
    const bodies = [randomBytes(9 * 1024 * 1024), randomBytes(9 * 1024 * 1024)];
    const results = await Promise.allSettled(bodies.map((b) => store.putStream('race.snap', Readable.from([b]))));
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.equal((loser.reason as VaultOpsError).code, 'store');
    assert.match((loser.reason as VaultOpsError).message, /already exists/);
    const winner = bodies[results.findIndex((r) => r.status === 'fulfilled')]!;
    assert.ok((await store.getBytes('race.snap', { maxBytes: 10 * 1024 * 1024 })).equals(winner));
    assert.deepEqual(await store.listIncomplete(), []);
  } finally {
    await store.close();
  }
});

test('Azure credentials are registered for redaction: key, SAS and its signature, connection string', async () => {
  const { SecretRegistry } = await import('../../src/observability/secret-registry.js');
  const container = await freshContainer();
  const sas = az.sas();
  const sig = new URLSearchParams(sas).get('sig')!;
  const cases: Array<[Parameters<typeof openSnapshotStore>[1], NodeJS.ProcessEnv, string[]]> = [
    [{}, { AZURE_STORAGE_CONNECTION_STRING: az.connectionString }, [az.connectionString, az.accountKey]],
    [{ azureEndpoint: az.endpoint }, keyEnv(), [az.accountKey]],
    [{ azureEndpoint: az.endpoint, azureSasFile: await secretFile('sas-redact', `?${sas}`) }, {}, [sas, sig]],
  ];
  for (const [options, env, secrets] of cases) {
    const registry = new SecretRegistry();
    const store = await openSnapshotStore(
      `az://${container}/r`,
      { ...options, registerSecret: (v) => registry.add(v) },
      env,
    );
    await store.close();
    for (const secret of secrets) {
      const scrubbed = registry.scrub(`failed with ${secret}`);
      assert.ok(!scrubbed.includes(secret), 'registered');
    }
  }
});
