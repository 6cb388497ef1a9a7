import assert from 'node:assert/strict';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { RecordingHttpProxy } from '../helpers/recording-http-proxy.js';
import {
  ENV_DUMP,
  RotationBed,
  TARGET,
  libraryDeps,
  pick,
  sleep,
  targetKey,
} from '../fixtures/rotation-hooks/harness.js';
import { loadRotationPolicy, type SecretPolicy } from '../../src/rotation/kv/policy.js';
import { runRotation } from '../../src/rotation/kv/run.js';
import { RotationMetrics } from '../../src/rotation/kv/metrics.js';
import { VaultClient } from '../../src/vault/client.js';
import { KvV2 } from '../../src/rotation/kv/kv.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/observability/logger.js';
import { SecretLock, type LockSettings } from '../../src/rotation/kv/lock.js';
import { lockPath } from '../../src/rotation/kv/paths.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { listRotationRecords } from '../../src/repository/records.js';
import { onServer } from '../testbed/servers.js';

let bed: RotationBed;
/** Everything any run printed or logged, scanned for generated values at the end. */
const captured: string[] = [];
/** Secrets whose history and staged values the leak scan collects. */
const rotatedSecrets: Array<{ path: string; keys: string[]; targetDir?: string }> = [];

async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli(args, bed.env);
  captured.push(r.all);
  return r;
}

before(async () => {
  bed = await RotationBed.start();
});
after(async () => {
  await bed?.stop();
});

describe(onServer('rotate kv: policy errors (exit 2, naming the entry)'), () => {
  const keys = { api_key: { length: 32 } };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'unknown key in a generator',
      { mount: 'secret', path: 'bad/a', every: '90d', keys: { api_key: { lenght: 40 } } },
      /secrets\[0\] \(secret\/bad\/a\): keys\.api_key has unknown key lenght/,
    ],
    [
      'unknown key in an entry',
      { mount: 'secret', path: 'bad/b', every: '90d', keys, colour: 'red' },
      /secrets\[0\] \(secret\/bad\/b\) has unknown key colour/,
    ],
    [
      'bad cron',
      { mount: 'secret', path: 'bad/c', schedule: '61 3 * * 1', window: '3h', keys },
      /secrets\[0\] \(secret\/bad\/c\): schedule: bad cron "61 3 \* \* 1": minute: 61 is outside 0-59/,
    ],
    [
      'every and schedule both set',
      { mount: 'secret', path: 'bad/d', every: '90d', schedule: '0 3 * * 1', keys },
      /secrets\[0\] \(secret\/bad\/d\): set either every or schedule, not both/,
    ],
    [
      'path outside any KV v2 mount',
      { mount: 'nosuch', path: 'bad/e', every: '90d', keys },
      /secrets\[0\] \(nosuch\/bad\/e\): nosuch\/ is not a secrets engine mount/,
    ],
    [
      'KV v1 mount',
      { mount: 'kv1', path: 'bad/f', every: '90d', keys },
      /secrets\[0\] \(kv1\/bad\/f\): kv1\/ is KV version 1, not KV v2/,
    ],
    [
      'a mount that is a path inside a mount',
      { mount: 'secret/team', path: 'bad/g', every: '90d', keys },
      /secrets\[0\] \(secret\/team\/bad\/g\): secret\/team is inside the mount secret\//,
    ],
    [
      'the staging mount as a target',
      { mount: 'vault-ops-staging', path: 'bad/h', every: '90d', keys },
      /the staging mount vault-ops-staging\/ cannot hold rotated secrets/,
    ],
    [
      'a hook that is not a command list',
      { mount: 'secret', path: 'bad/i', every: '90d', keys, hooks: { set: './x.sh' } },
      /secrets\[0\] \(secret\/bad\/i\): hooks\.set must be a list, not a text value/,
    ],
    [
      'maxVersions 1 would drop the previous value',
      { mount: 'secret', path: 'bad/j', every: '90d', keys, maxVersions: 1 },
      /maxVersions: must be at least 2/,
    ],
  ];
  for (const [name, entry, expected] of cases) {
    test(name, async () => {
      const policy = await bed.policy([entry]);
      for (const extra of [[], ['--dry-run']]) {
        const r = await cli(['rotate', 'kv', '--policy', policy, ...extra]);
        assert.equal(r.code, 2, r.all);
        assert.match(r.stderr, expected);
        assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      }
    });
  }

  test('every problem is reported at once', async () => {
    const policy = await bed.policy([
      { mount: 'secret', path: 'multi/a', keys },
      { mount: 'secret', path: 'multi/b', every: 'soon', keys: {} },
    ]);
    const r = await cli(['rotate', 'kv', '--policy', policy]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /secrets\[0\] \(secret\/multi\/a\): set every/);
    assert.match(r.stderr, /secrets\[1\] \(secret\/multi\/b\): every: invalid duration "soon"/);
    assert.match(r.stderr, /secrets\[1\] \(secret\/multi\/b\): keys: name at least one key/);
  });

  test('a missing staging mount (with hooks) and a missing policy file: exit 2', async () => {
    // Only rotations with hooks use the staging mount (pending values, locks): a hook-less policy does not need it.
    const policy = await bed.policy([{ mount: 'secret', path: 'x/y', every: '1d', keys, hooks: { set: ['true'] } }]);
    const r = await cli(['rotate', 'kv', '--policy', policy, '--staging-mount', 'no-such-staging']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /staging mount no-such-staging\/ is not a KV v2 mount/);
    const plain = await bed.policy([{ mount: 'secret', path: 'x/y', every: '1d', keys }]);
    const hookless = await cli(['rotate', 'kv', '--policy', plain, '--staging-mount', 'no-such-staging', '--dry-run']);
    assert.equal(hookless.code, 0, hookless.all);
    const missing = await cli(['rotate', 'kv', '--policy', `${bed.dir}/nope.yaml`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read rotation policy .*nope\.yaml \(ENOENT\)/);
    const none = await cli(['rotate', 'kv']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /policy/);
  });

  test('an invalid --record-to URL: exit 2', async () => {
    const policy = await bed.policy([{ mount: 'secret', path: 'x/z', every: '1d', keys }]);
    const r = await cli(['rotate', 'kv', '--policy', policy, '--record-to', 'ftp://example/store']);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /unsupported store URL ftp:\/\/example\/store/);
  });
});

describe(onServer('rotate kv without hooks'), () => {
  test('not due → nothing written; --force rotates with CAS, keeps other keys, records state', async () => {
    const path = bed.name('plain');
    await bed.put(path, { password: 'orig-password-value-1', user: 'svc-user' });
    const before = await bed.meta(path);
    const policy = await bed.policy([
      { mount: 'secret', path, every: '90d', keys: { password: { length: 32, charset: 'alnum' } }, maxVersions: 5 },
    ]);
    rotatedSecrets.push({ path, keys: ['password'] });

    const idle = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(idle.code, 0, idle.all);
    assert.equal(idle.json().secrets[0].outcome, 'not-due');
    assert.match(idle.json().secrets[0].reason, /never rotated by vault-ops; current version created/);
    assert.deepEqual(await bed.meta(path), before, 'nothing is written for a secret that is not due');

    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const out = r.json();
    assert.equal(out.kind, 'rotation-run');
    assert.deepEqual(out.summary, { rotated: 1, revoked: 0, 'not-due': 0, skipped: 0, failed: 0, quarantined: 0 });
    const s = out.secrets[0];
    assert.deepEqual(
      { secret: s.secret, outcome: s.outcome, fromVersion: s.fromVersion, toVersion: s.toVersion },
      { secret: `secret/${path}`, outcome: 'rotated', fromVersion: 1, toVersion: 2 },
    );
    assert.match(s.rotationId, /^\d{8}T\d{6}Z-[0-9a-f]{12}$/);

    const live = await bed.read(path);
    assert.equal(live?.version, 2);
    assert.match(live!.data.password!, /^[A-Za-z0-9]{32}$/);
    assert.equal(live!.data.user, 'svc-user', 'keys not in the policy are kept');
    assert.equal(
      (await bed.read(path, 1))?.data.password,
      'orig-password-value-1',
      'the previous value stays in the version history',
    );
    const meta = await bed.meta(path);
    assert.equal(meta?.max_versions, 5);
    assert.equal(meta?.custom_metadata?.['vault-ops-state'], 'current');
    assert.equal(meta?.custom_metadata?.['vault-ops-rotation-id'], s.rotationId);
    assert.equal(meta?.custom_metadata?.['vault-ops-version'], '2');
    assert.equal(meta?.custom_metadata?.['vault-ops-previous-version'], '1');
    assert.ok(!Number.isNaN(Date.parse(meta?.custom_metadata?.['vault-ops-last-rotated'] ?? '')));
    assert.equal(await bed.lock('secret', path), undefined, 'the lock is released');

    const again = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(again.json().secrets[0].outcome, 'not-due');
    assert.equal((await bed.meta(path))?.current_version, 2);
  });

  test('due by age: every 2s rotates without --force once the last rotation is older', async () => {
    const path = bed.name('aged');
    await bed.put(path, { token: 'orig-aged-token-value' });
    const policy = await bed.policy([
      { mount: 'secret', path, every: '2s', keys: { token: { length: 24, charset: 'base64url' } } },
    ]);
    rotatedSecrets.push({ path, keys: ['token'] });
    await sleep(2100);
    const r = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(r.json().secrets[0].outcome, 'rotated', r.all);
    assert.match(r.json().secrets[0].reason ?? '', /^$|.*/);
    const quick = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(quick.json().secrets[0].outcome, 'not-due', 'the age now counts from the recorded rotation');
    assert.match((await bed.read(path))!.data.token!, /^[A-Za-z0-9_-]{24}$/);
  });

  test('a hook-less rotation takes 3 Vault requests: plan read, CAS write, marker; no lock', async () => {
    const path = bed.name('count');
    await bed.put(path, { password: 'orig-count-password' });
    const policyFile = await bed.policy([{ mount: 'secret', path, every: '90d', keys: { password: { length: 32 } } }]);
    rotatedSecrets.push({ path, keys: ['password'] });
    const { deps, client } = await libraryDeps(bed);
    const requests: string[] = [];
    const counting = new (class extends VaultClient {
      override request<T>(
        method: Parameters<VaultClient['request']>[0],
        p: string,
        options?: Parameters<VaultClient['request']>[2],
      ): Promise<T> {
        requests.push(`${method} ${p.split('?')[0]}`);
        return super.request<T>(method, p, options);
      }
    })(client.connection, client.token);
    const policy = await loadRotationPolicy(policyFile);
    const result = await runRotation(
      {
        policyFile,
        stagingMount: 'vault-ops-staging',
        lockTtlMs: 60_000,
        force: true,
        holder: 'test',
        secrets: policy.secrets,
        concurrency: 4,
      },
      { ...deps, kv: new KvV2(counting) },
    );
    assert.equal(result.report.secrets[0]?.outcome, 'rotated');
    // 1 mount check (secret/; the staging mount is checked only when a secret has hooks) + metadata (plan) +
    // patch data (check-and-set on the planned version) + patch metadata (the marker)
    assert.deepEqual(
      requests.filter((r) => !r.includes('sys/internal/ui/mounts')),
      [`GET secret/metadata/${path}`, `PATCH secret/data/${path}`, `PATCH secret/metadata/${path}`],
    );
    assert.equal(requests.length, 4, requests.join('\n'));
    assert.equal(await bed.lock('secret', path), undefined, 'no lock was taken');
  });

  test('on the wire, the CLI rotating N hook-less secrets sends exactly 3 requests per rotation', async () => {
    const n = 20;
    const paths = Array.from({ length: n }, () => `wire/${bed.name('w')}`);
    for (const p of paths) await bed.put(p, { password: `orig-${p}` });
    rotatedSecrets.push(...paths.map((p) => ({ path: p, keys: ['password'] })));
    const policy = await bed.policy(
      paths.map((p) => ({ mount: 'secret', path: p, every: '90d', keys: { password: { length: 32 } } })),
    );
    const proxy = await RecordingHttpProxy.start(bed.vault.addr);
    let recorded: Array<{ method: string; path: string }>;
    try {
      const r = await runCli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json'], {
        ...bed.env,
        VAULT_ADDR: proxy.addr,
      });
      captured.push(r.all);
      assert.equal(r.code, 0, r.all);
      assert.equal(r.json().summary.rotated, n);
      recorded = proxy.take().requests;
    } finally {
      await proxy.stop();
    }
    const perSecret = new Map(paths.map((p) => [p, [] as string[]]));
    const other: string[] = [];
    for (const { method, path } of recorded) {
      const secret = paths.find((p) => path.endsWith(`/${p}`));
      if (secret) perSecret.get(secret)!.push(`${method} ${path.replace(secret, '{name}')}`);
      else other.push(`${method} ${path}`);
    }
    for (const [p, seq] of perSecret)
      assert.deepEqual(
        seq,
        ['GET secret/metadata/{name}', 'PATCH secret/data/{name}', 'PATCH secret/metadata/{name}'],
        `${p}: plan read, check-and-set write, marker`,
      );
    assert.deepEqual(
      other.sort(),
      ['GET auth/token/lookup-self', 'GET sys/internal/ui/mounts/secret/'],
      'once per run: the token lookup (for its renewal) and the mount check',
    );
    assert.equal(recorded.length, 3 * n + 2);
  });

  test('generators: Vault password policy, command, local charsets', async () => {
    const path = bed.name('gens');
    await bed.put(path, { pw: 'orig-gens-pw', minted: 'orig-gens-minted', hex: 'orig-gens-hex' });
    await bed.req('POST', 'sys/policies/password/rotation-test', {
      policy: 'length = 24\nrule "charset" { charset = "abcdefghjkmnpqrstuvwxyz23456789" }',
    });
    const mint = TARGET.replace(/target\.mjs$/, 'mint.mjs');
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '1d',
        keys: {
          pw: { passwordPolicy: 'rotation-test' },
          minted: { command: ['node', mint] },
          hex: { length: 48, charset: 'hex', exclude: 'abc' },
        },
      },
    ]);
    rotatedSecrets.push({ path, keys: ['pw', 'minted', 'hex'] });
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const live = (await bed.read(path))!.data;
    assert.match(live.pw!, /^[abcdefghjkmnpqrstuvwxyz23456789]{24}$/);
    assert.match(live.minted!, /^minted-minted-[0-9a-f]{24}$/);
    assert.match(live.hex!, /^[0-9def]{48}$/);

    const missing = await bed.policy([
      { mount: 'secret', path, every: '1d', keys: { pw: { passwordPolicy: 'no-such-policy' } } },
    ]);
    const bad = await cli(['rotate', 'kv', '--policy', missing, '--force', '--output', 'json']);
    assert.equal(bad.code, 1);
    assert.match(bad.json().secrets[0].reason, /password policy no-such-policy does not exist/);
    assert.equal((await bed.read(path))!.version, 2, 'nothing written');
  });

  test(
    '--record-to appends one record per completed rotation (never values); --snapshot-after snapshots after a run ' +
      'that rotated',
    async () => {
      const a = bed.name('rec');
      const b = bed.name('rec');
      await bed.put(a, { k: 'orig-rec-a' });
      await bed.put(b, { k: 'orig-rec-b' });
      const policy = await bed.policy(
        [a, b].map((p) => ({ mount: 'secret', path: p, every: '1d', keys: { k: { length: 24 } } })),
      );
      rotatedSecrets.push({ path: a, keys: ['k'] }, { path: b, keys: ['k'] });
      const storeDir = join(bed.dir, bed.name('store'));
      // The snapshot after the run is encrypted like snapshot save's (the shared --encrypt-to).
      const recipient = await identityToRecipient(await generateIdentity());
      const r = await cli([
        'rotate',
        'kv',
        '--policy',
        policy,
        '--force',
        '--record-to',
        storeDir,
        '--snapshot-after',
        storeDir,
        '--encrypt-to',
        recipient,
        '--output',
        'json',
      ]);
      assert.equal(r.code, 0, r.all);
      assert.match(r.json().snapshot.id, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      const store = await openSnapshotStore(storeDir);
      const records = await listRotationRecords(store);
      assert.deepEqual(
        records
          .map((x) => ({ kind: x.kind, mount: x.mount, path: x.path, rotationId: x.rotationId }))
          .sort((x, y) => x.path!.localeCompare(y.path!)),
        r
          .json()
          .secrets.map((s: any) => ({ kind: 'kv-rotation', mount: 'secret', path: s.path, rotationId: s.rotationId }))
          .sort((x: any, y: any) => x.path.localeCompare(y.path)),
      );
      // Each record carries the cluster's raft index, which a restore orders it by (never the clocks).
      assert.ok(
        records.every((x) => typeof x.raftIndex === 'number' && x.raftIndex > 0 && x.clusterId),
        JSON.stringify(records),
      );
      for (const o of await store.list())
        if (o.key.includes('records/')) captured.push((await store.getBytes(o.key)).toString());
      const manifests = (await store.list()).filter((o) => o.key.endsWith('.manifest.json'));
      assert.equal(manifests.length, 1);
      assert.deepEqual(JSON.parse((await store.getBytes(manifests[0]!.key)).toString()).encryption, {
        type: 'age',
        recipients: [recipient],
      });
      const idle = await cli([
        'rotate',
        'kv',
        '--policy',
        policy,
        '--record-to',
        storeDir,
        '--snapshot-after',
        storeDir,
        '--output',
        'json',
      ]);
      assert.equal(idle.code, 0);
      assert.equal(idle.json().snapshot, undefined, 'no snapshot after a run that rotated nothing');
      assert.equal((await store.list()).filter((o) => o.key.endsWith('.manifest.json')).length, 1);
      assert.equal((await listRotationRecords(store)).length, 2);
      await store.close();
    },
  );

  test('--max-rotations is a circuit breaker; --only selects', async () => {
    const paths = [bed.name('cb'), bed.name('cb'), bed.name('cb')];
    for (const p of paths) await bed.put(p, { k: `orig-${p}` });
    const policy = await bed.policy(
      paths.map((p) => ({ mount: 'secret', path: p, every: '1d', keys: { k: { length: 16 } } })),
    );
    for (const p of paths) rotatedSecrets.push({ path: p, keys: ['k'] });
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--max-rotations', '1', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    assert.equal(r.json().summary.rotated, 1);
    assert.equal(r.json().summary.skipped, 2);
    assert.ok(
      r
        .json()
        .secrets.filter((s: any) => s.outcome === 'skipped')
        .every((s: any) => /deferred: --max-rotations 1/.test(s.reason)),
    );
    const only = await cli([
      'rotate',
      'kv',
      '--policy',
      policy,
      '--force',
      '--only',
      `secret/${paths[2]}`,
      '--output',
      'json',
    ]);
    assert.deepEqual(
      only.json().secrets.map((s: any) => s.secret),
      [`secret/${paths[2]}`],
    );
    const unknown = await cli(['rotate', 'kv', '--policy', policy, '--only', 'secret/not-in-policy']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--only secret\/not-in-policy: not in/);
  });
});

describe(onServer('rotate kv with hooks'), () => {
  test('full cycle: stage, set, test, live with CAS, cleanup; revoke after grace', async () => {
    const path = bed.name('hooked');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-api-key-value', signing_secret: 'orig-signing-value', other: 'keep-me' });
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '30d',
        keys: { api_key: { length: 40 }, signing_secret: { length: 64, charset: 'hex' } },
        hooks: bed.hooks(td, { revoke: ['node', TARGET, 'revoke', td], grace: '2s', timeout: '20s' }),
      },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key', 'signing_secret'], targetDir: td });

    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json', '--log-level', 'debug']);
    assert.equal(r.code, 0, r.all);
    const s = r.json().secrets[0];
    assert.equal(s.outcome, 'rotated');
    assert.equal(s.toVersion, 2);
    const live = (await bed.read(path))!;
    assert.equal(live.data.other, 'keep-me');
    assert.notEqual(live.data.api_key, 'orig-api-key-value');
    const target = bed.target(td, 'secret', path)!;
    const pending = pick(live.data, ['api_key', 'signing_secret']);
    assert.equal(target.current, targetKey(pending), 'the target holds the live value');
    assert.deepEqual(target.setValues, [targetKey(pending)], 'set ran once, with the value that went live');
    assert.deepEqual(
      bed.targetLog(td, 'secret', path).map((l) => [l.step, l.rotationId]),
      [
        ['set', s.rotationId],
        ['test', s.rotationId],
      ],
    );
    const meta = (await bed.meta(path))!;
    assert.equal(meta.custom_metadata?.['vault-ops-state'], 'current');
    assert.equal(meta.custom_metadata?.['vault-ops-step'], undefined);
    assert.equal(meta.custom_metadata?.['vault-ops-revoke'], 'pending');
    assert.equal(await bed.staged('secret', path), undefined, 'the staging entry is deleted');
    assert.equal(await bed.lock('secret', path), undefined);

    const early = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(early.json().secrets[0].outcome, 'not-due', 'revoke waits for its grace period');
    await sleep(2100);
    const st = await cli(['rotate', 'kv', 'status', '--policy', policy, '--output', 'json']);
    assert.equal(st.json().secrets[0].revoke.state, 'pending');
    const late = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(late.code, 0, late.all);
    assert.equal(late.json().secrets[0].outcome, 'revoked');
    const previous = targetKey({ api_key: 'orig-api-key-value', signing_secret: 'orig-signing-value' });
    assert.ok(
      !bed.target(td, 'secret', path)!.accepted.includes(previous),
      'the target no longer accepts the previous value',
    );
    assert.equal((await bed.meta(path))!.custom_metadata?.['vault-ops-revoke'], 'done');
  });

  test('tampered markers: revoke never gets the live value; a future last-rotated is tampering (#22)', async () => {
    const path = bed.name('tampered');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-tampered-key' });
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '30d',
        keys: { api_key: { length: 40 } },
        hooks: bed.hooks(td, { revoke: ['node', TARGET, 'revoke', td], grace: '1s', timeout: '20s' }),
      },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const live = (await bed.read(path))!.data.api_key as string;
    // A token with only patch on the metadata points "previous" at the live version.
    const setMarkers = async (markers: Record<string, string>) => {
      const custom = (await bed.meta(path))!.custom_metadata ?? {};
      await bed.req('POST', `secret/metadata/${path}`, { custom_metadata: { ...custom, ...markers } });
    };
    await setMarkers({ 'vault-ops-previous-version': '2' });
    await sleep(1100);
    const tampered = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.notEqual(tampered.code, 0, tampered.all);
    assert.match(
      tampered.all,
      /tampering: custom_metadata \(rotation \S+, versions 2 → 2\) disagrees with the rotation's record at vault-ops-staging\/revoke\//,
    );
    assert.ok(!bed.targetLog(td, 'secret', path).some((l) => l.step === 'revoke'), 'the revoke hook never ran');
    assert.ok(bed.target(td, 'secret', path)!.accepted.includes(targetKey({ api_key: live })), 'the live value works');
    assert.ok(!tampered.all.includes(live), 'the live value is not printed');

    await setMarkers({ 'vault-ops-previous-version': '1', 'vault-ops-last-rotated': '2099-01-01T00:00:00Z' });
    const future = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    const s = future.json().secrets[0];
    assert.equal(s.outcome, 'skipped', JSON.stringify(s));
    assert.match(s.reason, /^tampering: vault-ops-last-rotated is 2099-01-01T00:00:00.000Z, in the future/);
  });

  const recordTest =
    "a revoke runs only as the rotation's own record in the staging mount says, never as patched metadata";
  test(`${recordTest} (#22)`, async () => {
    const path = bed.name('revoke-record');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-record-key' });
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '30d',
        keys: { api_key: { length: 40 } },
        hooks: bed.hooks(td, { revoke: ['node', TARGET, 'revoke', td], grace: '1h', timeout: '20s' }),
      },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const record = (await bed.req('GET', `vault-ops-staging/data/revoke/secret/${path}`)) as {
      data: { data: Record<string, unknown> };
    };
    assert.deepEqual(
      { ...record.data.data, revokeAfter: typeof record.data.data.revokeAfter },
      {
        rotationId: r.json().secrets[0].rotationId,
        version: 2,
        previousVersion: 1,
        revokeAfter: 'string',
        state: 'pending',
      },
    );
    const setMarkers = async (markers: Record<string, string>) => {
      const custom = (await bed.meta(path))!.custom_metadata ?? {};
      await bed.req('POST', `secret/metadata/${path}`, { custom_metadata: { ...custom, ...markers } });
    };
    // Cutting the one-hour grace period short through the metadata revokes nothing.
    await setMarkers({ 'vault-ops-revoke-after': '2020-01-01T00:00:00Z' });
    const early = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.notEqual(early.code, 0, early.all);
    assert.match(
      early.all,
      /tampering: the grace period ends \S+ by the rotation's record at vault-ops-staging\/revoke\//,
    );
    assert.ok(!bed.targetLog(td, 'secret', path).some((l) => l.step === 'revoke'), 'the revoke hook never ran');
    const original = targetKey({ api_key: 'orig-record-key' });
    assert.ok(bed.target(td, 'secret', path)!.accepted.includes(original), 'the previous value still works');

    // A revoke nobody's rotation recorded (another secret's metadata patched to ask for one) revokes nothing.
    const other = bed.name('revoke-forged');
    await bed.put(other, { api_key: 'orig-forged-key' });
    await bed.put(other, { api_key: 'second-forged-key' });
    const forgedPolicy = await bed.policy([
      {
        mount: 'secret',
        path: other,
        every: '30d',
        keys: { api_key: { length: 40 } },
        hooks: bed.hooks(td, { revoke: ['node', TARGET, 'revoke', td], grace: '1s', timeout: '20s' }),
      },
    ]);
    await bed.req('POST', `secret/metadata/${other}`, {
      custom_metadata: {
        'vault-ops-state': 'current',
        'vault-ops-rotation-id': 'forged',
        'vault-ops-version': '2',
        'vault-ops-previous-version': '1',
        'vault-ops-revoke': 'pending',
        'vault-ops-revoke-after': '2020-01-01T00:00:00Z',
      },
    });
    const forged = await cli(['rotate', 'kv', '--policy', forgedPolicy, '--output', 'json']);
    assert.notEqual(forged.code, 0, forged.all);
    assert.match(forged.all, /tampering: no revoke record at vault-ops-staging\/revoke\/secret\//);
    assert.ok(!bed.targetLog(td, 'secret', other).some((l) => l.step === 'revoke'), 'the revoke hook never ran');
    assert.ok(!forged.all.includes('orig-forged-key') && !forged.all.includes('second-forged-key'));
    // rotate kv clear drops the unconfirmed revoke; the next run has nothing to revoke.
    const cleared = await cli(['rotate', 'kv', 'clear', '--policy', forgedPolicy, '--only', `secret/${other}`]);
    assert.equal(cleared.code, 0, cleared.all);
    assert.equal((await bed.meta(other))!.custom_metadata?.['vault-ops-revoke'], undefined);
    const after = await cli(['rotate', 'kv', '--policy', forgedPolicy, '--output', 'json']);
    assert.equal(after.code, 0, after.all);
    assert.equal(after.json().secrets[0].outcome, 'not-due');
  });

  test('set fails: live unchanged, pending kept; the next run resumes with the same value', async () => {
    const path = bed.name('setfail');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-setfail-key' });
    const policy = await bed.policy([
      { mount: 'secret', path, every: '30d', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    await bed.control(td, { fail: ['set'] });
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.equal(r.code, 1, r.all);
    const s = r.json().secrets[0];
    assert.equal(s.outcome, 'failed');
    assert.equal(s.failedStep, 'set');
    assert.match(
      s.reason,
      /set hook for secret\/.* failed with exit 1: target refused set .*attempt 1 of 3; the next run resumes with the same staged value/,
    );
    assert.match(r.stderr, /error: rotation failed for secret\//);
    assert.deepEqual((await bed.read(path))!.data, { api_key: 'orig-setfail-key' }, 'live unchanged');
    const meta = (await bed.meta(path))!;
    assert.equal(meta.custom_metadata?.['vault-ops-state'], 'pending');
    assert.equal(meta.custom_metadata?.['vault-ops-step'], 'set-started');
    assert.equal(meta.custom_metadata?.['vault-ops-failures'], '1');
    const staged = (await bed.staged('secret', path)) as { rotationId: string; values: Record<string, string> };
    assert.equal(staged.rotationId, s.rotationId);

    await bed.control(td, {});
    const again = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(again.code, 0, again.all);
    assert.deepEqual(pick(again.json().secrets[0], ['outcome', 'resumed', 'rotationId']), {
      outcome: 'rotated',
      resumed: true,
      rotationId: s.rotationId,
    } as any);
    assert.deepEqual((await bed.read(path))!.data, staged.values, 'the staged value went live');
    assert.equal((await bed.meta(path))!.custom_metadata?.['vault-ops-failures'], undefined, 'failures reset');
  });

  test(
    'test fails: exit 3, live unchanged; quarantined after maxFailures; --force retries the same ' + 'value',
    async () => {
      const path = bed.name('testfail');
      const td = await bed.targetDir();
      await bed.put(path, { api_key: 'orig-testfail-key' });
      const policy = await bed.policy([
        {
          mount: 'secret',
          path,
          every: '30d',
          keys: { api_key: { length: 40 } },
          hooks: bed.hooks(td),
          maxFailures: 2,
        },
      ]);
      rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
      await bed.control(td, { fail: ['test'] });
      const first = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
      assert.equal(first.code, 3, first.all);
      assert.equal(first.json().secrets[0].failedStep, 'test');
      assert.match(first.stderr, /a rotation test failed for secret\/.*the live secrets keep their old values/);
      assert.deepEqual((await bed.read(path))!.data, { api_key: 'orig-testfail-key' });
      const rotationId = first.json().secrets[0].rotationId;

      const second = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
      assert.equal(second.code, 3);
      assert.equal(second.json().secrets[0].outcome, 'quarantined');
      assert.match(second.json().secrets[0].reason, /quarantined: 2 failed attempts in a row/);
      const logLength = bed.targetLog(td, 'secret', path).length;

      const third = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
      assert.equal(third.code, 0, 'a quarantined secret is skipped, not failed again');
      assert.equal(third.json().secrets[0].outcome, 'skipped');
      assert.match(third.json().secrets[0].reason, /^quarantined: /);
      assert.equal(bed.targetLog(td, 'secret', path).length, logLength, 'no hook ran');
      const status = await cli(['rotate', 'kv', 'status', '--policy', policy, '--output', 'json']);
      assert.match(status.json().secrets[0].quarantined, /2 failed attempts/);
      assert.equal(status.json().secrets[0].state, 'pending');

      await bed.control(td, {});
      const forced = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
      assert.equal(forced.code, 0, forced.all);
      assert.equal(forced.json().secrets[0].rotationId, rotationId, 'the same rotation, resumed');
      const target = bed.target(td, 'secret', path)!;
      assert.equal(new Set(target.setValues).size, 1, 'one pending value only');
      assert.equal(target.current, targetKey(pick((await bed.read(path))!.data, ['api_key'])));
      assert.equal((await bed.meta(path))!.custom_metadata?.['vault-ops-quarantined'], undefined);
    },
  );

  test('a hook that hangs past its timeout is killed; live unchanged', async () => {
    const path = bed.name('hang');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-hang-key' });
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '30d',
        keys: { api_key: { length: 40 } },
        hooks: { ...bed.hooks(td), timeout: '1s' },
      },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    await bed.control(td, { hang: ['set'] });
    const started = Date.now();
    const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
    assert.ok(Date.now() - started < 15_000, 'the run does not wait for the hung hook');
    assert.equal(r.code, 1, r.all);
    assert.match(r.json().secrets[0].reason, /set hook .* timed out after 1s and was killed/);
    assert.deepEqual((await bed.read(path))!.data, { api_key: 'orig-hang-key' });
    await bed.control(td, {});
    const again = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(again.json().secrets[0].outcome, 'rotated', again.all);
  });

  test(
    'a human writes the live secret after set ran: stop, quarantine, never overwrite; clear after ' + 'reconciling',
    async () => {
      const path = bed.name('human');
      const td = await bed.targetDir();
      await bed.put(path, { api_key: 'orig-human-key', note: 'v1' });
      const policyFile = await bed.policy([
        { mount: 'secret', path, every: '30d', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
      ]);
      rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
      const policy = await loadRotationPolicy(policyFile);
      const { deps } = await libraryDeps(bed, {
        async onStep(e) {
          if (e.step === 'set-done') await bed.put(path, { api_key: 'human-written-key', note: 'by hand' });
        },
      });
      const result = await runRotation(
        {
          policyFile,
          stagingMount: 'vault-ops-staging',
          lockTtlMs: 60_000,
          force: true,
          holder: 'test',
          secrets: policy.secrets,
          concurrency: 1,
        },
        deps,
      );
      const s = result.report.secrets[0]!;
      assert.equal(s.outcome, 'quarantined');
      assert.equal(s.failedStep, 'conflict');
      assert.match(
        s.reason!,
        /changed to version 2 \(not by vault-ops\) .*rotation .*make the target and the live secret agree, then run 'vault-ops rotate kv clear --only secret\//,
      );
      assert.deepEqual(
        (await bed.read(path))!.data,
        { api_key: 'human-written-key', note: 'by hand' },
        'the human write is never overwritten',
      );
      assert.ok(await bed.staged('secret', path), 'the staged value is kept for reconciling');

      const skipped = await cli(['rotate', 'kv', '--policy', policyFile, '--force', '--output', 'json']);
      assert.equal(skipped.json().secrets[0].outcome, 'quarantined', 'forcing cannot resolve a conflict');
      assert.deepEqual((await bed.read(path))!.data, { api_key: 'human-written-key', note: 'by hand' });

      const noOnly = await cli(['rotate', 'kv', 'clear', '--policy', policyFile]);
      assert.equal(noOnly.code, 2);
      const cleared = await cli([
        'rotate',
        'kv',
        'clear',
        '--policy',
        policyFile,
        '--only',
        `secret/${path}`,
        '--output',
        'json',
      ]);
      assert.equal(cleared.code, 0, cleared.all);
      assert.deepEqual(cleared.json().secrets[0], {
        secret: `secret/${path}`,
        result: 'cleared',
        droppedRotation: { rotationId: s.rotationId, step: 'tested', setMayHaveRun: true },
      });
      assert.equal(await bed.staged('secret', path), undefined);
      const meta = (await bed.meta(path))!;
      assert.equal(meta.custom_metadata?.['vault-ops-quarantined'], undefined);
      assert.equal(meta.custom_metadata?.['vault-ops-state'], undefined, 'back to never rotated');
      const after = await cli(['rotate', 'kv', '--policy', policyFile, '--force', '--output', 'json']);
      assert.equal(after.json().secrets[0].outcome, 'rotated', after.all);
      assert.equal((await bed.read(path))!.data.note, 'by hand');
    },
  );

  test('a human write before any hook ran is not a conflict: the rotation rebases onto it', async () => {
    const path = bed.name('rebase');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-rebase-key', note: 'v1' });
    const policyFile = await bed.policy([
      { mount: 'secret', path, every: '30d', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    const policy = await loadRotationPolicy(policyFile);
    const { deps } = await libraryDeps(bed, {
      async onStep(e) {
        if (e.step === 'marked-pending') await bed.put(path, { api_key: 'human-rebase-key', note: 'edited' });
      },
    });
    const result = await runRotation(
      {
        policyFile,
        stagingMount: 'vault-ops-staging',
        lockTtlMs: 60_000,
        force: true,
        holder: 'test',
        secrets: policy.secrets,
        concurrency: 1,
      },
      deps,
    );
    assert.equal(result.report.secrets[0]!.outcome, 'rotated');
    assert.equal(result.report.secrets[0]!.fromVersion, 2);
    const live = (await bed.read(path))!;
    assert.equal(live.data.note, 'edited');
    assert.equal(live.version, 3);
  });

  test('quarantine is visible in the metrics; outcomes are counted', async () => {
    const path = bed.name('metrics');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-metrics-key' });
    const policyFile = await bed.policy([
      { mount: 'secret', path, every: '30d', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td), maxFailures: 1 },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    await bed.control(td, { fail: ['set'] });
    const policy = await loadRotationPolicy(policyFile);
    const registry = new Registry();
    const { deps } = await libraryDeps(bed, {});
    const result = await runRotation(
      {
        policyFile,
        stagingMount: 'vault-ops-staging',
        lockTtlMs: 60_000,
        force: true,
        holder: 'test',
        secrets: policy.secrets,
        concurrency: 1,
      },
      { ...deps, reporter: new RotationMetrics(registry) },
    );
    assert.equal(result.report.secrets[0]!.outcome, 'quarantined');
    const text = await registry.metrics();
    captured.push(text);
    assert.match(text, /vault_ops_rotation_total\{result="quarantined"\} 1/);
    assert.match(text, new RegExp(`vault_ops_rotation_quarantined\\{mount="secret",path="${path}"\\} 1`));
    assert.match(text, /vault_ops_rotation_quarantined_secrets 1/);
    await bed.control(td, {});
    const ok = await runRotation(
      {
        policyFile,
        stagingMount: 'vault-ops-staging',
        lockTtlMs: 60_000,
        force: true,
        holder: 'test',
        secrets: policy.secrets,
        concurrency: 1,
      },
      { ...deps, reporter: new RotationMetrics(registry) },
    );
    assert.equal(ok.report.secrets[0]!.outcome, 'rotated');
    const text2 = await registry.metrics();
    captured.push(text2);
    assert.match(text2, /vault_ops_rotation_total\{result="rotated"\} 1/);
    assert.match(text2, /vault_ops_rotation_quarantined_secrets 0/);
    assert.match(text2, /vault_ops_rotation_last_success_timestamp_seconds \d+/);
  });

  test('the CLI publishes what the run reports: --metrics-textfile after a hook-less rotation', async () => {
    const path = bed.name('metrics-cli');
    await bed.put(path, { password: 'orig-metrics-cli' });
    rotatedSecrets.push({ path, keys: ['password'] });
    const policyFile = await bed.policy([{ mount: 'secret', path, every: '1d', keys: { password: { length: 32 } } }]);
    const file = join(await bed.targetDir(), 'rotation.prom');
    const r = await runCli(
      ['rotate', 'kv', '--policy', policyFile, '--force', '--only', `secret/${path}`, '--metrics-textfile', file],
      { VAULT_ADDR: bed.vault.addr, VAULT_TOKEN: bed.vault.rootToken },
    );
    captured.push(r.all);
    assert.equal(r.code, 0, r.all);
    const text = readFileSync(file, 'utf8');
    captured.push(text);
    // Labelled with the cluster name the server reports (no --vault-cluster-name given).
    assert.match(text, /^vault_ops_rotation_total\{result="rotated",vault_cluster="[^"]+"\} 1$/m);
    assert.doesNotMatch(text, /vault_cluster="unknown"/);
    assert.match(text, /^vault_ops_rotation_quarantined_secrets\{vault_cluster="[^"]+"\} 0$/m);
    assert.match(text, /^vault_ops_rotation_last_success_timestamp_seconds\{vault_cluster="[^"]+"\} \d+/m);
  });
});

describe(onServer('rotate kv with a least-privilege token (the README policy)'), () => {
  test('hook-less rotation needs only patch on the data path; hooks add read', async () => {
    const plainPath = `lp/${bed.name('plain')}`;
    const hookedPath = `lp/${bed.name('hooked')}`;
    const td = await bed.targetDir();
    await bed.put(plainPath, { password: 'orig-lp-plain' });
    await bed.put(hookedPath, { api_key: 'orig-lp-hooked' });
    rotatedSecrets.push(
      { path: plainPath, keys: ['password'] },
      { path: hookedPath, keys: ['api_key'], targetDir: td },
    );
    const staging =
      `path "vault-ops-staging/data/*" { capabilities = ["create", "read", "update"] }\npath ` +
      `"vault-ops-staging/metadata/*" { capabilities = ["read", "delete"] }\n`;
    const hookless =
      `path "secret/metadata/lp/*" { capabilities = ["read", "patch"] }\npath "secret/data/lp/*" { ` +
      `capabilities = ["patch"] }\n${staging}`;
    const withHooks =
      `path "secret/metadata/lp/*" { capabilities = ["read", "patch"] }\npath "secret/data/lp/*" { ` +
      `capabilities = ["read", "patch"] }\n${staging}`;
    await bed.req('PUT', 'sys/policies/acl/rotate-hookless', { policy: hookless });
    await bed.req('PUT', 'sys/policies/acl/rotate-hooks', { policy: withHooks });
    const tokenFor = async (policy: string) =>
      (await bed.req('POST', 'auth/token/create', { policies: [policy] })).auth.client_token as string;
    const plainPolicy = await bed.policy([
      { mount: 'secret', path: plainPath, every: '1d', keys: { password: { length: 32 } } },
    ]);
    const hookedPolicy = await bed.policy([
      { mount: 'secret', path: hookedPath, every: '1d', keys: { api_key: { length: 32 } }, hooks: bed.hooks(td) },
    ]);

    const t1 = await tokenFor('rotate-hookless');
    const r1 = await runCli(['rotate', 'kv', '--policy', plainPolicy, '--force', '--output', 'json'], {
      VAULT_ADDR: bed.vault.addr,
      VAULT_TOKEN: t1,
    });
    captured.push(r1.all);
    assert.equal(r1.code, 0, r1.all);
    assert.equal(r1.json().secrets[0].outcome, 'rotated');
    const st = await runCli(['rotate', 'kv', 'status', '--policy', plainPolicy, '--output', 'json'], {
      VAULT_ADDR: bed.vault.addr,
      VAULT_TOKEN: t1,
    });
    assert.equal(st.json().secrets[0].state, 'current');

    // A hook-less rotation takes no lock and stages nothing: no grant on the staging mount at all.
    const bare =
      `path "secret/metadata/lp/*" { capabilities = ["read", "patch"] }\npath "secret/data/lp/*" { ` +
      `capabilities = ["patch"] }\n`;
    await bed.req('PUT', 'sys/policies/acl/rotate-hookless-bare', { policy: bare });
    const t0 = await tokenFor('rotate-hookless-bare');
    const r0 = await runCli(['rotate', 'kv', '--policy', plainPolicy, '--force', '--output', 'json'], {
      VAULT_ADDR: bed.vault.addr,
      VAULT_TOKEN: t0,
    });
    captured.push(r0.all);
    assert.equal(r0.code, 0, r0.all);
    assert.equal(r0.json().secrets[0].outcome, 'rotated');
    assert.equal((await bed.meta(plainPath))?.current_version, 3);

    const t2 = await tokenFor('rotate-hooks');
    const r2 = await runCli(['rotate', 'kv', '--policy', hookedPolicy, '--force', '--output', 'json'], {
      VAULT_ADDR: bed.vault.addr,
      VAULT_TOKEN: t2,
    });
    captured.push(r2.all);
    assert.equal(r2.code, 0, r2.all);
    assert.equal(r2.json().secrets[0].outcome, 'rotated');
    assert.equal(
      bed.target(td, 'secret', hookedPath)!.current,
      targetKey(pick((await bed.read(hookedPath))!.data, ['api_key'])),
    );
  });
});

describe(onServer('rotate kv --dry-run and status'), () => {
  test('the plan names what is due, why, and the next 3 runs; nothing is written', async () => {
    const weekly = bed.name('weekly');
    const aged = bed.name('plan-aged');
    await bed.put(weekly, { k: 'orig-weekly-value' });
    await bed.put(aged, { k: 'orig-plan-aged-value' });
    const policy = await bed.policy([
      { mount: 'secret', path: weekly, schedule: '0 3 * * 1', window: '3h', keys: { k: { length: 16 } } },
      { mount: 'secret', path: aged, every: '1s', keys: { k: { length: 16 } } },
      { mount: 'secret', path: bed.name('absent'), every: '1d', keys: { k: { length: 16 } } },
    ]);
    await sleep(1100);
    const metaBefore = [await bed.meta(weekly), await bed.meta(aged)];
    const r = await cli(['rotate', 'kv', '--policy', policy, '--dry-run', '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    const plan = r.json();
    assert.equal(plan.kind, 'rotation-plan');
    assert.deepEqual(plan.summary, { rotate: 1, resume: 0, revoke: 0, none: 1, skip: 0, missing: 1 });
    assert.deepEqual(Object.keys(plan.secrets[0]).sort(), [
      'action',
      'currentVersion',
      'due',
      'exists',
      'failures',
      'hooks',
      'lastError',
      'lastRotated',
      'lastRotatedSource',
      'mount',
      'nextDue',
      'nextRuns',
      'path',
      'quarantined',
      'reason',
      'revoke',
      'rotationId',
      'schedule',
      'secret',
      'state',
      'step',
    ]);
    const [w, a, m] = plan.secrets;
    assert.equal(w.action, 'none');
    assert.equal(w.nextRuns.length, 3);
    for (const t of w.nextRuns) {
      const d = new Date(t);
      assert.equal(d.getUTCDay(), 1);
      assert.equal(d.getUTCHours(), 3);
      assert.equal(d.getUTCMinutes(), 0);
    }
    assert.equal(a.action, 'rotate');
    assert.equal(a.due, true);
    assert.match(a.reason, /older than 1s: never rotated by vault-ops/);
    assert.equal(m.action, 'missing');
    assert.deepEqual([await bed.meta(weekly), await bed.meta(aged)], metaBefore, 'a dry run writes nothing');

    const text = await cli(['rotate', 'kv', '--policy', policy, '--dry-run']);
    assert.match(text.stdout, new RegExp(`secret/${aged}: ROTATE`));
    assert.match(text.stdout, /next runs \d{4}-/);

    const st = await cli(['rotate', 'kv', 'status', '--policy', policy, '--output', 'json']);
    assert.equal(st.code, 0);
    assert.equal(st.json().kind, 'rotation-status');
    assert.deepEqual(Object.keys(st.json().secrets[0]).sort(), [
      'currentVersion',
      'exists',
      'failures',
      'lastError',
      'lastRotated',
      'lastRotatedSource',
      'mount',
      'nextDue',
      'path',
      'quarantined',
      'revoke',
      'rotationId',
      'secret',
      'state',
      'step',
    ]);
    assert.equal(st.json().secrets[0].state, 'never');
    assert.equal(st.json().secrets[0].lastRotatedSource, 'created');
    assert.equal(st.json().secrets[2].exists, false);
    const stText = await cli(['rotate', 'kv', 'status', '--policy', policy]);
    assert.match(stText.stdout, /SECRET\s+STATE\s+LAST ROTATED\s+NEXT DUE\s+FAILURES/);

    const run = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(run.code, 1, 'a secret in the policy that does not exist fails the run');
    assert.match(run.json().secrets[2].reason, /does not exist: create it first/);
    assert.equal(run.json().secrets[1].outcome, 'rotated');
    rotatedSecrets.push({ path: aged, keys: ['k'] });
  });
});

describe(onServer('rotate kv: readers and concurrent runs'), () => {
  test('a reader polling the live secret only ever sees the old or the final value', async () => {
    const path = bed.name('poll');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-poll-key' });
    const policy = await bed.policy([
      { mount: 'secret', path, every: '30d', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key'], targetDir: td });
    const seen = new Set<string>();
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const v = await bed.read(path);
        if (v?.data.api_key) seen.add(v.data.api_key);
      }
    })();
    for (let i = 0; i < 3; i++) {
      const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json']);
      assert.equal(r.json().secrets[0].outcome, 'rotated');
    }
    stop = true;
    await poller;
    const history = (await bed.history(path)).map((d) => d.api_key);
    assert.equal(history.length, 4);
    for (const v of seen) assert.ok(history.includes(v), 'only values that were live (old or final of a rotation)');
    assert.ok(seen.size >= 2);
  });

  test('concurrent runs never rotate the same secret twice', async () => {
    const td = await bed.targetDir();
    const hooked = [bed.name('conc-h'), bed.name('conc-h'), bed.name('conc-h')];
    const plain = [bed.name('conc-p'), bed.name('conc-p'), bed.name('conc-p')];
    for (const p of [...hooked, ...plain]) await bed.put(p, { k: `orig-${p}` });
    await bed.control(td, { delayMs: { set: 300 } });
    const policy = await bed.policy([
      ...hooked.map((p) => ({
        mount: 'secret',
        path: p,
        every: '1s',
        keys: { k: { length: 20 } },
        hooks: bed.hooks(td),
      })),
      ...plain.map((p) => ({ mount: 'secret', path: p, every: '1s', keys: { k: { length: 20 } } })),
    ]);
    for (const p of hooked) rotatedSecrets.push({ path: p, keys: ['k'], targetDir: td });
    for (const p of plain) rotatedSecrets.push({ path: p, keys: ['k'] });
    await sleep(1100);
    // `every: 1s` would make a later run rotate again: compare against the versions when all runs end.
    const runs = await Promise.all(
      [1, 2, 3].map(() => cli(['rotate', 'kv', '--policy', policy, '--output', 'json', '--concurrency', '2'])),
    );
    for (const r of runs) assert.equal(r.code, 0, r.all);
    const rotatedIds = runs.flatMap((r) =>
      r
        .json()
        .secrets.filter((s: any) => s.outcome === 'rotated')
        .map((s: any) => s.secret),
    );
    assert.equal(rotatedIds.length, 6, `each secret rotated once across the runs: ${rotatedIds.join(', ')}`);
    assert.equal(new Set(rotatedIds).size, 6);
    for (const p of [...hooked, ...plain])
      assert.equal((await bed.meta(p))!.current_version, 2, `${p} has exactly one new version`);
    for (const p of hooked) assert.equal(bed.target(td, 'secret', p)!.setValues.length, 1, 'set ran once');
  });
});

describe(onServer('rotate kv without hooks: no lock, check-and-set only'), () => {
  const settingsFor = (policyFile: string, secrets: readonly SecretPolicy[], holder: string) => ({
    policyFile,
    stagingMount: 'vault-ops-staging',
    lockTtlMs: 60_000,
    force: true,
    holder,
    secrets,
    concurrency: 4,
  });

  test('two --force runs started together over 200 secrets rotate each exactly once', async () => {
    const n = 200;
    const paths = Array.from({ length: n }, (_, i) => `race/${bed.name(`r${i}`)}`);
    for (const p of paths) await bed.put(p, { k: `orig-${p}`, other: 'keep' });
    rotatedSecrets.push(...paths.map((p) => ({ path: p, keys: ['k'] })));
    const policyFile = await bed.policy(
      paths.map((p) => ({ mount: 'secret', path: p, every: '90d', keys: { k: { length: 24 } } })),
    );
    const policy = await loadRotationPolicy(policyFile);
    // Both runs plan every secret before either writes one: all 200 are contended, each run read version 1 of each.
    // (A run that planned after the other's write would rotate again: that is what --force asks for.)
    let planned = 0;
    let release!: () => void;
    const bothPlanned = new Promise<void>((r) => {
      release = r;
    });
    const gatedKv = (client: VaultClient) =>
      new (class extends KvV2 {
        private reads = 0;
        override async readMetadata(mount: string, path: string) {
          const meta = await super.readMetadata(mount, path);
          if (++this.reads === n && ++planned === 2) release();
          return meta;
        }
        override async patchData(mount: string, path: string, data: Record<string, unknown>, cas: number) {
          await bothPlanned;
          return super.patchData(mount, path, data, cas);
        }
      })(client);
    const records: Array<{ path: string; rotationId: string }> = [];
    const runs = await Promise.all(
      ['run-a', 'run-b'].map(async (holder) => {
        const { deps, client } = await libraryDeps(bed);
        return runRotation(settingsFor(policyFile, policy.secrets, holder), {
          ...deps,
          kv: gatedKv(client),
          recorder: async (r) => {
            records.push({ path: r.path, rotationId: r.rotationId });
          },
        });
      }),
    );
    for (const run of runs) {
      assert.equal(run.failed, false);
      assert.equal(run.report.summary.failed + run.report.summary.quarantined, 0);
    }
    const rotated = new Map<string, string>();
    for (const run of runs)
      for (const s of run.report.secrets) {
        if (s.outcome === 'rotated') {
          assert.ok(!rotated.has(s.path), `${s.path} rotated by both runs`);
          rotated.set(s.path, s.rotationId!);
          assert.deepEqual([s.fromVersion, s.toVersion], [1, 2]);
        } else {
          assert.equal(s.outcome, 'skipped', JSON.stringify(s));
          assert.match(s.reason!, /rotated by another run meanwhile|changed since the plan read version 1/);
        }
      }
    assert.equal(rotated.size, n, 'every secret rotated by exactly one run');
    assert.equal(records.length, n, 'one record per rotation: the losing run writes none');
    assert.deepEqual(new Set(records.map((r) => r.path)), new Set(paths));
    for (const p of paths) {
      const meta = (await bed.meta(p))!;
      assert.equal(meta.current_version, 2, `${p}: exactly one version newer`);
      assert.equal(meta.custom_metadata?.['vault-ops-rotation-id'], rotated.get(p), `${p}: the winner's marker`);
      assert.equal(meta.custom_metadata?.['vault-ops-version'], '2');
      assert.equal(records.find((r) => r.path === p)?.rotationId, rotated.get(p));
      assert.equal((await bed.read(p))!.data.other, 'keep');
    }
    assert.equal(await bed.lock('secret', paths[0]!), undefined, 'no lock was taken');
  });

  test("a person's write between the plan and the write is never overwritten", async () => {
    const path = bed.name('human');
    await bed.put(path, { password: 'orig-human-1', user: 'svc' });
    const policyFile = await bed.policy([{ mount: 'secret', path, every: '90d', keys: { password: { length: 32 } } }]);
    rotatedSecrets.push({ path, keys: ['password'] });
    const policy = await loadRotationPolicy(policyFile);
    const records: string[] = [];
    const recorder = async (r: { rotationId: string }) => {
      records.push(r.rotationId);
    };
    // A first rotation, so that vault-ops' marker is there (the second run must not take the person's write for
    // another run's rotation either).
    const first = await runRotation(settingsFor(policyFile, policy.secrets, 'first'), {
      ...(await libraryDeps(bed)).deps,
      recorder,
    });
    assert.equal(first.report.secrets[0]?.outcome, 'rotated');
    const marker = (await bed.meta(path))!.custom_metadata;

    let written = 0;
    const { deps } = await libraryDeps(bed, {
      // After the plan read version 2 and the new value was generated, just before the live write.
      onStep: async (e) => {
        if (e.step === 'generated') written = await bed.put(path, { password: 'human-password-2', user: 'svc' });
      },
    });
    const r = await runRotation(settingsFor(policyFile, policy.secrets, 'second'), { ...deps, recorder });
    assert.equal(written, 3);
    const s = r.report.secrets[0]!;
    assert.equal(s.outcome, 'skipped', JSON.stringify(s));
    assert.match(s.reason!, /changed since the plan read version 2 \(now version 3; .*\): left as written/);
    assert.equal(r.failed, false, 'not a failure: exit 0');
    const live = (await bed.read(path))!;
    assert.equal(live.version, 3, "the person's version is current");
    assert.equal(live.data.password, 'human-password-2', "the person's value is live");
    assert.deepEqual((await bed.meta(path))!.custom_metadata, marker, 'no marker, no failure written');
    assert.equal(records.length, 1, 'no record for the run that wrote nothing');

    // The person's version is fresh: a normal run leaves it, its age counts from its creation.
    const next = await runRotation(
      { ...settingsFor(policyFile, policy.secrets, 'third'), force: false },
      (await libraryDeps(bed)).deps,
    );
    assert.equal(next.report.secrets[0]?.outcome, 'not-due');
    assert.match(next.report.secrets[0]!.reason!, /written after vault-ops' last rotation \(version 2\)/);
    assert.equal((await bed.read(path))!.version, 3);
  });
});

describe(onServer('rotate kv: hooks and generators get an allowlisted environment'), () => {
  test(
    'only PATH, HOME, LANG, TZ, LC_* and the variables the policy names for that command; never the token of the ' +
      'run',
    async () => {
      const path = bed.name('env');
      const td = await bed.targetDir();
      await bed.put(path, { api_key: 'orig-env-key', minted: 'orig-env-minted' });
      const policy = await bed.policy([
        {
          mount: 'secret',
          path,
          every: '30d',
          keys: {
            api_key: { length: 32 },
            minted: { command: ['node', ENV_DUMP, join(td, 'generator.json')], env: ['GENERATOR_SEED'] },
          },
          hooks: {
            set: ['node', ENV_DUMP, join(td, 'set.json')],
            test: ['node', ENV_DUMP, join(td, 'test.json')],
            env: ['TARGET_DB_PASSWORD', 'NOT_SET_ANYWHERE'],
          },
        },
      ]);
      rotatedSecrets.push({ path, keys: ['api_key', 'minted'] });
      const parent = {
        ...bed.env,
        BAO_TOKEN: bed.vault.rootToken,
        AWS_ACCESS_KEY_ID: 'AKIAVAULTOPSENVTEST',
        AWS_SECRET_ACCESS_KEY: 'aws-secret-that-must-not-reach-hooks',
        VAULT_OPS_LOG_LEVEL: 'info',
        UNRELATED_SETTING: 'not for hooks',
        LANG: 'C.UTF-8',
        TZ: 'UTC',
        LC_ALL: 'C',
        TARGET_DB_PASSWORD: 'named-for-the-hooks',
        GENERATOR_SEED: 'named-for-the-generator',
      };
      const r = await runCli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json'], parent);
      captured.push(r.all);
      assert.equal(r.code, 0, r.all);
      assert.equal(r.json().secrets[0].outcome, 'rotated');
      const base = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', TZ: 'UTC', LC_ALL: 'C' };
      const dump = (name: string) => JSON.parse(readFileSync(join(td, name), 'utf8')) as Record<string, string>;
      assert.deepEqual(
        dump('set.json'),
        { ...base, TARGET_DB_PASSWORD: 'named-for-the-hooks' },
        "set: the base allowlist and the hooks' names only",
      );
      assert.deepEqual(dump('test.json'), { ...base, TARGET_DB_PASSWORD: 'named-for-the-hooks' }, 'test: the same');
      assert.deepEqual(
        dump('generator.json'),
        { ...base, GENERATOR_SEED: 'named-for-the-generator' },
        "the generator gets its own names, not the hooks'",
      );
      const files = readdirSync(td);
      assert.deepEqual(files.sort(), ['generator.json', 'set.json', 'test.json'], 'each command ran once');
      for (const f of files) {
        const text = readFileSync(join(td, f), 'utf8');
        assert.ok(!text.includes(bed.vault.rootToken), `${f}: the run's Vault token reached a child process`);
        assert.ok(
          !text.includes('aws-secret-that-must-not-reach-hooks') && !text.includes(bed.vault.addr),
          `${f}: AWS_* or VAULT_ADDR reached a child process`,
        );
      }
    },
  );
});

describe(onServer('rotation locks: check-and-set; a lock another run holds is never deleted'), () => {
  const settings = (): LockSettings => ({
    stagingMount: 'vault-ops-staging',
    ttlMs: 60_000,
    now: () => new Date(),
    logger: silentLogger,
  });
  const lockAt = (path: string) => lockPath('secret', path);
  const otherRun = (rotationId: string, holder: string) => ({
    rotationId,
    holder,
    acquired: new Date().toISOString(),
    expires: new Date(Date.now() + 60_000).toISOString(),
  });
  /** Another run writes the lock as a takeover does: check-and-set on the version it read. */
  const takeOver = async (path: string, info: Record<string, string>, cas: number) => {
    await bed.req('POST', `vault-ops-staging/data/${lockAt(path)}`, { data: info, options: { cas } });
  };
  const stagingVersion = async (path: string) => (await bed.meta(lockAt(path), 'vault-ops-staging'))?.current_version;

  test("release deletes the lock while it is still this run's", async () => {
    const path = bed.name('lock-mine');
    const { deps } = await libraryDeps(bed);
    const got = await SecretLock.acquire(deps.kv, settings(), 'secret', path, {
      rotationId: 'rot-mine',
      holder: 'run-mine',
    });
    assert.ok(got.acquired);
    assert.equal(((await bed.lock('secret', path)) as { rotationId: string }).rotationId, 'rot-mine');
    const released = await got.lock.release();
    assert.equal(
      await bed.meta(lockAt(path), 'vault-ops-staging'),
      undefined,
      'the entry and all its versions are gone',
    );
    assert.equal(released, true);
  });

  for (const [name, other] of [
    ['another rotation id', otherRun('rot-other', 'run-other')],
    ['the same rotation id (another run resuming the same rotation)', otherRun('rot-shared', 'run-other')],
  ] as const) {
    test(`a run whose lock was taken over (${name}) does not delete the other run's lock on release`, async () => {
      const path = bed.name('lock-takeover');
      const { deps } = await libraryDeps(bed);
      const mine = other.rotationId === 'rot-shared' ? 'rot-shared' : 'rot-mine';
      const got = await SecretLock.acquire(deps.kv, settings(), 'secret', path, {
        rotationId: mine,
        holder: 'run-mine',
      });
      assert.ok(got.acquired);
      // Between acquire and release, another run takes the lock over (as after this run's lock expired).
      await takeOver(path, other, (await stagingVersion(path))!);
      const released = await got.lock.release();
      assert.deepEqual(await bed.lock('secret', path), other, "the other run's lock survives, untouched");
      assert.equal(released, false, 'release reports that the lock was not ours any more');
      const third = await SecretLock.acquire(deps.kv, settings(), 'secret', path, {
        rotationId: 'rot-third',
        holder: 'run-third',
      });
      assert.equal(third.acquired, false, 'and it still keeps everyone else out');
    });
  }

  test(
    'a lock entry that reads empty (its version deleted) is replaced with check-and-set on that version, not ' +
      'deleted',
    async () => {
      const path = bed.name('lock-empty');
      await bed.req('POST', `vault-ops-staging/data/${lockAt(path)}`, { data: otherRun('rot-gone', 'run-gone') });
      await bed.req('DELETE', `vault-ops-staging/data/${lockAt(path)}`);
      assert.equal(await bed.lock('secret', path), undefined, 'reads empty');
      const { deps } = await libraryDeps(bed);
      const got = await SecretLock.acquire(deps.kv, settings(), 'secret', path, {
        rotationId: 'rot-empty',
        holder: 'run-empty',
      });
      assert.ok(got.acquired);
      assert.equal(got.takenOver, undefined, 'an empty entry is no stale lock of a known run');
      assert.equal(
        await stagingVersion(path),
        2,
        'written over version 1 with check-and-set (the entry was never deleted)',
      );
      assert.equal(((await bed.lock('secret', path)) as { rotationId: string }).rotationId, 'rot-empty');
      assert.equal(await got.lock.release(), true);
      assert.equal(await bed.meta(lockAt(path), 'vault-ops-staging'), undefined);
    },
  );

  for (const when of ['right after this run read it empty', 'right after this run read its metadata']) {
    test(`another run takes an empty lock entry ${when}: its lock survives, this run backs off`, async () => {
      const path = bed.name('lock-race');
      await bed.req('POST', `vault-ops-staging/data/${lockAt(path)}`, { data: otherRun('rot-gone', 'run-gone') });
      await bed.req('DELETE', `vault-ops-staging/data/${lockAt(path)}`);
      const other = otherRun('rot-racer', 'run-racer');
      const { client } = await libraryDeps(bed);
      let injected = false;
      const inject = async () => {
        if (injected) return;
        injected = true;
        await takeOver(path, other, (await stagingVersion(path))!);
      };
      const onMetadata = when.includes('metadata');
      // The real server; the other run's write lands exactly between this run's read and its next request.
      const kv = new (class extends KvV2 {
        override async readData(mount: string, p: string, version?: number) {
          const r = await super.readData(mount, p, version);
          if (!onMetadata && mount === 'vault-ops-staging' && p === lockAt(path) && version === undefined && !r)
            await inject();
          return r;
        }
        override async readMetadata(mount: string, p: string) {
          const r = await super.readMetadata(mount, p);
          if (onMetadata && mount === 'vault-ops-staging' && p === lockAt(path)) await inject();
          return r;
        }
      })(client);
      const got = await SecretLock.acquire(kv, settings(), 'secret', path, {
        rotationId: 'rot-late',
        holder: 'run-late',
      });
      assert.equal(got.acquired, false, 'this run backs off');
      assert.deepEqual(await bed.lock('secret', path), other, "the other run's lock survives");
      assert.equal(!got.acquired && got.heldBy.rotationId, 'rot-racer');
      assert.equal(injected, true, 'the other run took the entry mid-acquire');
    });
  }
});

describe(onServer('rotate kv: secrets never leak'), () => {
  test('no generated or previous value appears in any output, log line, error or metric', async () => {
    // Also one traced run with failures to exercise error paths.
    const path = bed.name('leak');
    const td = await bed.targetDir();
    await bed.put(path, { api_key: 'orig-leak-key-value' });
    const policy = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '30d',
        keys: { api_key: { length: 40 }, pw: { length: 30, charset: 'ascii-printable', exclude: '"\\' } },
        hooks: bed.hooks(td),
      },
    ]);
    rotatedSecrets.push({ path, keys: ['api_key', 'pw'], targetDir: td });
    await bed.control(td, { fail: ['test'] });
    await cli(['rotate', 'kv', '--policy', policy, '--force', '--log-level', 'trace', '--output', 'json']);
    await cli(['rotate', 'kv', '--policy', policy, '--dry-run', '--log-level', 'trace']);
    await cli(['rotate', 'kv', 'status', '--policy', policy, '--log-level', 'trace']);
    await bed.control(td, {});
    await cli(['rotate', 'kv', '--policy', policy, '--log-level', 'trace']);

    const values = new Set<string>();
    for (const s of rotatedSecrets) {
      for (const d of await bed.history(s.path))
        for (const k of s.keys)
          if (d[k] && !d[k]!.startsWith('orig-') && !d[k]!.startsWith('human-')) values.add(d[k]!);
      if (s.targetDir)
        for (const v of bed.target(s.targetDir, 'secret', s.path)?.setValues ?? [])
          for (const [, value] of JSON.parse(v) as Array<[string, string]>) values.add(value);
    }
    assert.ok(values.size > 20, `collected ${values.size} generated values`);
    const all = captured.join('\n');
    assert.ok(all.length > 10_000);
    for (const v of values) assert.ok(!all.includes(v), 'a generated value appeared in captured output');
    // Previous values (the originals) too: they are never printed.
    assert.ok(!all.includes('orig-leak-key-value'));
    assert.ok(!all.includes(bed.vault.rootToken));
  });
});
