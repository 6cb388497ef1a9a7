import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { writeRotationRecord } from '../../src/repository/records.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';

let target: VaultTestbed;
let other: VaultTestbed;
let dir: string;
let store: string;
let env: Record<string, string>;

before(async () => {
  [target, other] = await Promise.all([startVault(), startVault()]);
  console.log(`testbed: two ${target.version} clusters`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-restore-test-'));
  store = join(dir, 'store');
  env = { VAULT_ADDR: target.addr, VAULT_TOKEN: target.rootToken };
});
after(async () => {
  await Promise.allSettled([target?.stop(), other?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('restore'), () => {
  let snapshotId: string;
  let safetyId: string;

  test('refused without confirmation in a non-interactive run (exit 4), nothing changed', async () => {
    await seedSecrets(target.addr, target.rootToken, { count: 3, prefix: 'before' });
    const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
    assert.equal(saved.code, 0, saved.stderr);
    snapshotId = saved.json().id;
    await seedSecrets(target.addr, target.rootToken, { count: 3, prefix: 'after' });
    const r = await runCli(['restore', '--from', store, '--snapshot', snapshotId], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /needs a typed confirmation .*--yes/);
    // The plan names the server by its flavour and says a safety snapshot comes first.
    const name = target.server.name === 'vault' ? 'HashiCorp Vault' : 'OpenBao';
    assert.match(r.stderr, new RegExp(`^  target .*, ${name} \\d+\\.\\d+\\.\\d+, leader `, 'm'));
    assert.match(r.stderr, new RegExp(`^  from cluster .*, ${name} \\d+\\.\\d+\\.\\d+ — the same cluster`, 'm'));
    assert.match(r.stderr, /^ {2}safety snapshot +first, the target's current state is snapshotted into the store/m);
    // --output json stopping for the confirmation: the plan and an error object on stdout.
    const j = await runCli(['restore', '--from', store, '--snapshot', snapshotId, '--output', 'json'], env);
    assert.equal(j.code, 4, j.stderr);
    const stopped = j.json();
    assert.equal(stopped.error.code, 'confirmation');
    assert.equal(stopped.error.exitCode, 4);
    assert.equal(stopped.applied, false);
    assert.equal(stopped.plan.target.flavour, target.server.name);
    assert.equal(stopped.plan.snapshot.flavour, target.server.name);
    assert.equal(stopped.plan.safetySnapshot, true);
    assert.equal(await readSecret(target.addr, target.rootToken, 'secret', 'after/s0'), 'value-after/s0');
  });

  test(
    'brings the cluster back to the snapshot: earlier secrets there, later ones gone; lists rolled-back ' + 'rotations',
    async () => {
      // A KV rotation after the snapshot, recorded as rotate kv records it: with the cluster's raft index.
      const records = await openSnapshotStore(store);
      const leader = (await bootstrapRequest(target.addr, 'GET', 'sys/leader')).body;
      const seal = (await bootstrapRequest(target.addr, 'GET', 'sys/seal-status')).body;
      await writeRotationRecord(records, {
        time: new Date(),
        kind: 'kv-rotation',
        mount: 'secret',
        path: 'payments/stripe',
        rotationId: 'r-123',
        clusterId: seal.cluster_id,
        raftIndex: leader.raft_applied_index,
      });
      await records.close();
      // The safety snapshot is protected like `snapshot save`'s: the deployment's recipients (env) and signing key.
      const identity = await generateIdentity();
      const signingKey = join(dir, 'signing.pem');
      await writeFile(
        signingKey,
        generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        { mode: 0o600 },
      );
      const r = await runCli(
        [
          'restore',
          '--from',
          store,
          '--snapshot',
          snapshotId,
          '--yes',
          '--signing-key',
          signingKey,
          '--output',
          'json',
        ],
        { ...env, VAULT_OPS_ENCRYPT_TO: await identityToRecipient(identity) },
      );
      assert.equal(r.code, 0, r.stderr);
      const result = r.json();
      const safetyManifest = JSON.parse(
        await readFile(join(store, `${result.safetySnapshotId}.manifest.json`), 'utf8'),
      );
      assert.equal(safetyManifest.encryption?.type, 'age', 'the safety snapshot is encrypted like the others');
      assert.match(safetyManifest.archive.key, /\.snap\.age$/);
      assert.equal(safetyManifest.signature?.algorithm, 'ed25519', 'and signed');
      assert.equal(result.applied, true);
      assert.equal(result.sealed, false);
      assert.equal(result.plan.sameCluster, true);
      assert.match(result.safetySnapshotId, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.equal(result.rolledBackRotations.length, 1);
      assert.equal(result.rolledBackRotations[0].where, 'secret/payments/stripe');
      assert.equal(result.rolledBackRotations[0].certainty, 'rolled-back');
      assert.match(
        result.rolledBackRotations[0].action,
        /rotate kv --policy FILE --force --only secret\/payments\/stripe --record-to /,
      );
      assert.equal(await readSecret(target.addr, target.rootToken, 'secret', 'before/s1'), 'value-before/s1');
      assert.equal(await readSecret(target.addr, target.rootToken, 'secret', 'after/s1'), undefined);
      // The safety snapshot holds the state before the restore (with the "after" secrets).
      const list = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
      assert.ok(list.json().snapshots.some((s: any) => s.id === result.safetySnapshotId));
      safetyId = result.safetySnapshotId;
    },
  );

  test('the safety snapshot is marked; restore takes no latest; a scheduled drill skips it', async () => {
    const safety = JSON.parse(await readFile(join(store, `${safetyId}.manifest.json`), 'utf8'));
    assert.equal(safety.purpose, 'safety');
    const original = JSON.parse(await readFile(join(store, `${snapshotId}.manifest.json`), 'utf8'));
    assert.equal(original.purpose, undefined);
    const list = await runCli(['snapshot', 'list', '--from', store], env);
    assert.equal(list.code, 0, list.all);
    const row = list.stdout.split('\n').find((l) => l.startsWith(safetyId));
    assert.match(row ?? '', /\bSAFETY,encrypted,signed\b/);
    assert.doesNotMatch(list.stdout.split('\n').find((l) => l.startsWith(snapshotId)) ?? '', /SAFETY/);

    for (const which of ['latest', 'oldest']) {
      const r = await runCli(['restore', '--from', store, '--snapshot', which, '--yes'], env);
      assert.equal(r.code, 2, r.all);
      const picked = which === 'latest' ? safetyId : snapshotId;
      assert.match(
        r.stderr,
        new RegExp(`^error: restore takes a snapshot id, not ${which}: it would have picked ${picked} `, 'm'),
      );
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    }
    assert.match(
      (await runCli(['restore', '--from', store, '--snapshot', 'latest', '--yes'], env)).stderr,
      /the SAFETY snapshot of an earlier restore/,
    );

    // verify --snapshot unverified drills the newest snapshot that is not a safety snapshot.
    const keys = join(dir, 'keys.txt');
    await writeFile(keys, `${target.unsealKeys.join('\n')}\n`, { mode: 0o600 });
    const drill = await runCli(
      ['verify', '--from', store, '--snapshot', 'unverified', '--unseal-keys-file', keys, '--output', 'json'],
      { ...env, VAULT_OPS_VAULT_BINARY: target.binary },
    );
    assert.equal(drill.code, 0, drill.all);
    assert.equal(drill.json().snapshotId, snapshotId);
    // The drill says what it left out, so that its count adds up with the manifest's list.
    const policies = drill.json().checks.find((c: { name: string }) => c.name === 'policies');
    assert.match(policies.detail, /^\d+ match the manifest \(built-in root not compared\)$/);
  });

  test("a plain restore of another cluster's snapshot fails and explains --force (exit 1)", async () => {
    const otherStore = join(dir, 'other-store');
    await seedSecrets(other.addr, other.rootToken, { count: 2, prefix: 'other' });
    const saved = await runCli(['snapshot', 'save', '--to', otherStore, '--output', 'json'], {
      VAULT_ADDR: other.addr,
      VAULT_TOKEN: other.rootToken,
    });
    assert.equal(saved.code, 0, saved.stderr);
    const r = await runCli(
      ['restore', '--from', otherStore, '--snapshot', saved.json().id, '--yes', '--no-safety-snapshot'],
      env,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--force/);
    assert.equal(
      await readSecret(target.addr, target.rootToken, 'secret', 'before/s1'),
      'value-before/s1',
      'the target is unchanged',
    );

    // With --force the target takes the other cluster's data and keys: it seals itself and
    // opens with the snapshot's unseal keys; the snapshot's token then applies.
    const forced = await runCli(
      [
        'restore',
        '--from',
        otherStore,
        '--snapshot',
        saved.json().id,
        '--yes',
        '--force',
        '--no-safety-snapshot',
        '--output',
        'json',
      ],
      env,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(forced.json().sealed, true);
    assert.match(forced.json().nextSteps[0], /unseal every node with the snapshot's/);
    await target.nodes[0]!.unseal(other.unsealKeys);
    // Right after unsealing the restored data the node may still be taking over as active.
    let value: string | undefined;
    for (let i = 0; i < 100 && value === undefined; i++) {
      value = await readSecret(target.addr, other.rootToken, 'secret', 'other/s1').catch(() => undefined);
      if (value === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(value, 'value-other/s1');
    const { status } = await bootstrapRequest(target.addr, 'GET', 'auth/token/lookup-self', {
      token: target.rootToken,
      okStatuses: [200, 403],
    });
    assert.equal(status, 403, "the target's old root token is gone with its data");

    // A sealed target: the restore says how to unseal it with this flavour's CLI, and where to go if it will not.
    await bootstrapRequest(target.addr, 'PUT', 'sys/seal', { token: other.rootToken });
    const sealed = await runCli(['restore', '--from', store, '--snapshot', snapshotId, '--yes'], env);
    assert.equal(sealed.code, 1, sealed.all);
    const cli = target.server.name === 'vault' ? 'vault' : 'bao';
    assert.match(
      sealed.stderr,
      new RegExp(`^error: the target at \\S+ is sealed: unseal it \\(${cli} operator unseal, .*section 7\\)$`, 'm'),
    );
    assert.equal(sealed.stderr.trim().split('\n').length, 1, 'one line');
  });
});
