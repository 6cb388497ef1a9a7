import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/observability/logger.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { saveSnapshot } from '../../src/snapshot/save.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { VaultClient } from '../../src/vault/client.js';
import { resolveConnection } from '../../src/vault/connection.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { onServer } from '../testbed/servers.js';

const run = promisify(execFile);

let vault: VaultTestbed;
let s3: S3Testbed;
let dir: string;
let seeded: Record<string, string>;
let s3Env: Record<string, string>;

before(async () => {
  [vault, s3] = await Promise.all([startVault(), startS3()]);
  console.log(`testbed: ${vault.version}; versitygw ${s3.version}`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-snapshot-test-'));
  seeded = await seedSecrets(vault.addr, vault.rootToken, { count: 20 });
  // Big incompressible values so that the archive spans several multipart parts (~12 MB).
  await seedSecrets(vault.addr, vault.rootToken, { count: 24, valueBytes: 500_000, prefix: 'bulk' });
  await s3.createBucket('backups');
  s3Env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    ...s3.cliEnv(),
  };
});
after(async () => {
  await Promise.allSettled([vault?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function bucketKeys(bucket: string, prefix: string): Promise<string[]> {
  return (await s3.listKeys(bucket, prefix)).sort();
}

describe(onServer('snapshot save, list, inspect'), () => {
  test(
    'to S3: archive then manifest, listed and inspected; the archive restores with the server`s own ' + 'CLI',
    async () => {
      const saved = await runCli(['snapshot', 'save', '--to', 's3://backups/vault/prod', '--output', 'json'], s3Env);
      assert.equal(saved.code, 0, saved.stderr);
      const m = saved.json();
      assert.match(m.id, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.equal(m.archive.key, `vault/prod/${m.id}.snap`);
      assert.ok(m.archive.bytes > 10_000_000, `archive of ${m.archive.bytes} bytes should span several parts`);
      assert.match(m.archive.sha256, /^[0-9a-f]{64}$/);
      assert.ok(m.raft.index > 0 && m.raft.term > 0);
      assert.equal(m.raft.servers.length, 1);
      assert.equal(m.cluster.version, vault.server.version);
      assert.equal(m.cluster.flavour, vault.server.name, 'the manifest records which server flavour took it');
      assert.deepEqual(m.seal, { type: 'shamir', shares: 1, threshold: 1 });
      assert.ok(m.keyCounts['logical/'] >= 44, JSON.stringify(m.keyCounts));
      assert.ok(m.mounts.some((x: any) => x.path === 'secret/' && x.type === 'kv'));
      assert.ok(m.authMethods.some((x: any) => x.path === 'token/'));
      assert.ok(m.policies.includes('default'));
      assert.equal(m.snapshotMeta.version, 1);
      assert.equal(typeof m.toolVersion, 'string');
      assert.deepEqual(await bucketKeys('backups', 'vault/prod/'), [
        `vault/prod/${m.id}.manifest.json`,
        `vault/prod/${m.id}.snap`,
      ]);
      assert.ok(!saved.all.includes(vault.rootToken));
      assert.ok(!saved.all.includes(s3.secretAccessKey));

      const listed = await runCli(['snapshot', 'list', '--from', 's3://backups/vault/prod', '--output', 'json'], s3Env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        listed.json().snapshots.map((s: any) => s.id),
        [m.id],
      );
      assert.deepEqual(listed.json().incomplete, []);

      const inspected = await runCli(
        ['snapshot', 'inspect', `s3://backups/vault/prod#${m.id}`, '--output', 'json'],
        s3Env,
      );
      assert.equal(inspected.code, 0, inspected.stderr);
      assert.equal(inspected.json().manifest.sha256Matches, true);
      assert.equal(inspected.json().meta.index, m.raft.index);

      // Download and restore into a brand-new server with the server's own CLI.
      const file = join(dir, 'restore-me.snap');
      const store = await openSnapshotStore(
        's3://backups/vault/prod',
        { s3Endpoint: s3.endpoint, s3ForcePathStyle: true },
        s3Env,
      );
      await pipeline(await store.get(m.archive.key), createWriteStream(file));
      await store.close();
      const fresh = await startVault();
      try {
        await run(vault.binary, ['operator', 'raft', 'snapshot', 'restore', '-force', file], {
          env: {
            PATH: process.env.PATH,
            BAO_ADDR: fresh.addr,
            BAO_TOKEN: fresh.rootToken,
            VAULT_ADDR: fresh.addr,
            VAULT_TOKEN: fresh.rootToken,
          },
        });
        // The restored data is sealed by the source's keys: it seals itself, unseals with them.
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const { body } = await bootstrapRequest(fresh.addr, 'GET', 'sys/seal-status');
          if (body.sealed) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        await fresh.nodes[0]!.unseal(vault.unsealKeys);
        for (const [name, value] of Object.entries(seeded).slice(0, 5)) {
          assert.equal(await readSecret(fresh.addr, vault.rootToken, 'secret', name), value);
        }
      } finally {
        await fresh.stop();
      }
    },
  );

  test('to an object-locked bucket: archive and manifest carry the same retention', async () => {
    await s3.createBucket('locked-backups', { objectLock: true });
    const r = await runCli(
      [
        'snapshot',
        'save',
        '--to',
        's3://locked-backups/v',
        '--s3-object-lock-mode',
        'GOVERNANCE',
        '--s3-object-lock-days',
        '7',
        '--output',
        'json',
      ],
      s3Env,
    );
    assert.equal(r.code, 0, r.stderr);
    const m = r.json();
    const store = await openSnapshotStore(
      's3://locked-backups/v',
      { s3Endpoint: s3.endpoint, s3ForcePathStyle: true },
      s3Env,
    );
    try {
      const archive = await store.head(m.archive.key);
      const manifest = await store.head(`v/${m.id}.manifest.json`);
      const expected = Date.parse(m.createdAt) + 7 * 86_400_000;
      assert.ok(
        archive.retainUntil && Math.abs(archive.retainUntil.getTime() - expected) < 2000,
        String(archive.retainUntil),
      );
      assert.equal(manifest.retainUntil?.getTime(), archive.retainUntil?.getTime());
    } finally {
      await store.close();
    }
    const plain = await runCli(
      [
        'snapshot',
        'save',
        '--to',
        's3://backups/nolock',
        '--s3-object-lock-mode',
        'GOVERNANCE',
        '--s3-object-lock-days',
        '7',
      ],
      s3Env,
    );
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /has no object lock/);
  });

  test('to a folder: archive and manifest, nothing else', async () => {
    const folder = join(dir, 'folder-store');
    const saved = await runCli(['snapshot', 'save', '--to', folder, '--output', 'json', '--canary'], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
    });
    // The canary mount does not exist yet: a clear configuration error, nothing stored.
    assert.equal(saved.code, 2);
    assert.match(saved.stderr, /vault-ops setup canary/);
    await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', {
      token: vault.rootToken,
      body: { type: 'kv', options: { version: '1' } },
    });
    const ok = await runCli(['snapshot', 'save', '--to', `file://${folder}`, '--output', 'json', '--canary'], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
    });
    assert.equal(ok.code, 0, ok.stderr);
    const m = ok.json();
    assert.equal(m.canary.mount, 'vault-ops-canary');
    const canary = (await bootstrapRequest(vault.addr, 'GET', 'vault-ops-canary/canary', { token: vault.rootToken }))
      .body.data;
    assert.equal(canary.nonce, m.canary.nonce);
    assert.deepEqual((await readdir(folder)).sort(), [`${m.id}.manifest.json`, `${m.id}.snap`]);
    const manifest = JSON.parse(await readFile(join(folder, `${m.id}.manifest.json`), 'utf8'));
    assert.equal(manifest.archive.sha256, m.archive.sha256);
    const inspected = await runCli(['snapshot', 'inspect', join(folder, `${m.id}.snap`)]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /manifest\s+sha256 and size match/);
    assert.match(inspected.stdout, /logical\/\s+\d+/);
  });

  test('refuses a store whose newest snapshot came from another cluster (exit 3) unless allowed', async () => {
    const folder = join(dir, 'cluster-change');
    const other = await startVault();
    try {
      const first = await runCli(['snapshot', 'save', '--to', folder], {
        VAULT_ADDR: other.addr,
        VAULT_TOKEN: other.rootToken,
      });
      assert.equal(first.code, 0, first.stderr);
      const refused = await runCli(['snapshot', 'save', '--to', folder], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: vault.rootToken,
      });
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /cluster id .* differs .*--allow-cluster-change/);
      assert.equal((await readdir(folder)).length, 2);
      const allowed = await runCli(['snapshot', 'save', '--to', folder, '--allow-cluster-change'], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: vault.rootToken,
      });
      assert.equal(allowed.code, 0, allowed.stderr);
      // The data shrank a lot compared with the other cluster's? No: it grew. Shrink warnings are
      // checked the other way round below.
      const back = await runCli(['snapshot', 'save', '--to', folder, '--allow-cluster-change', '--output', 'json'], {
        VAULT_ADDR: other.addr,
        VAULT_TOKEN: other.rootToken,
      });
      assert.equal(back.code, 0, back.stderr);
      assert.ok(
        back.json().warnings.some((w: string) => /shrank by more than half/.test(w)),
        JSON.stringify(back.json().warnings),
      );
    } finally {
      await other.stop();
    }
  });
});

describe(onServer('snapshot save faults leave no snapshot that looks complete'), () => {
  test('connection cut mid-stream (a proxy drops it after 200 kB)', async () => {
    const proxy = await startTcpProxy(
      { host: '127.0.0.1', port: vault.nodes[0]!.apiPort },
      { cutDownstreamAfter: 200_000, cutOnlyWhen: 'GET /v1/sys/storage/raft/snapshot' },
    );
    try {
      const r = await runCli(['snapshot', 'save', '--to', 's3://backups/cut'], { ...s3Env, VAULT_ADDR: proxy.addr });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^error: the snapshot stream from http:\/\/127\.0\.0\.1:\d+ broke after \d+ bytes .*nothing was stored/,
      );
      assert.deepEqual(await bucketKeys('backups', 'cut/'), []);
      const incomplete = await runCli(['snapshot', 'list', '--from', 's3://backups/cut', '--output', 'json'], s3Env);
      assert.deepEqual(
        { snapshots: incomplete.json().snapshots, incomplete: incomplete.json().incomplete },
        { snapshots: [], incomplete: [] },
      );
    } finally {
      await proxy.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} mid-stream: the CLI stops at once, removes its partial file and stores nothing`, async () => {
      const proxy = await startTcpProxy(
        { host: '127.0.0.1', port: vault.nodes[0]!.apiPort },
        { stallDownstreamAfter: 1_000_000, cutOnlyWhen: 'GET /v1/sys/storage/raft/snapshot' },
      );
      const folder = join(dir, `interrupted-${signal}`);
      const root = fileURLToPath(new URL('../..', import.meta.url));
      try {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(root, 'src/cli/entry.ts'), 'snapshot', 'save', '--to', folder],
          {
            cwd: root,
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              VAULT_ADDR: proxy.addr,
              VAULT_TOKEN: vault.rootToken,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += String(c)));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        const deadline = Date.now() + 30_000;
        let partial = false;
        while (!partial && Date.now() < deadline) {
          const files = await readdir(folder).catch(() => [] as string[]);
          partial = files.some((f) => f.startsWith('.vault-ops-partial-'));
          if (!partial) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(partial, `the save never started writing: ${stderr}`);
        const sentAt = Date.now();
        child.kill(signal);
        const code = await exited;
        assert.ok(Date.now() - sentAt < 5_000, 'stopped at once');
        assert.equal(code, 1, stderr);
        assert.match(
          stderr,
          /^error: snapshot save interrupted during stream; nothing was stored in file:\/\/.*: run it again\n$/,
        );
        assert.deepEqual(await readdir(folder), [], 'no partial file, archive or manifest is left');
      } finally {
        await proxy.close();
      }
    });
  }

  test('Vault sealed: exit 1 naming it', async () => {
    await vault.nodes[0]!.seal();
    try {
      const r = await runCli(['snapshot', 'save', '--to', join(dir, 'sealed')], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: vault.rootToken,
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /sealed/i);
      await assert.rejects(readdir(join(dir, 'sealed')));
    } finally {
      await vault.nodes[0]!.unseal();
    }
  });

  test('a token without read on sys/storage/raft/snapshot: exit 1 naming the path and the fix', async () => {
    await bootstrapRequest(vault.addr, 'POST', 'sys/policies/acl/no-snapshot', {
      token: vault.rootToken,
      body: {
        policy:
          'path "sys/mounts" { capabilities = ["read"] }\npath "sys/auth" { capabilities = ["read"] }\npath ' +
          '"sys/policies/acl" { capabilities = ["list"] }',
      },
    });
    const { body } = await bootstrapRequest(vault.addr, 'POST', 'auth/token/create', {
      token: vault.rootToken,
      body: { policies: ['default', 'no-snapshot'] },
    });
    const r = await runCli(['snapshot', 'save', '--to', join(dir, 'denied')], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: body.auth.client_token,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /permission denied: GET sys\/storage\/raft\/snapshot needs 'read'/);
    await assert.rejects(readdir(join(dir, 'denied')));
  });

  test('S3 bucket missing, S3 credentials wrong: exit 1, clear line, no secret echoed', async () => {
    const missing = await runCli(['snapshot', 'save', '--to', 's3://no-such-bucket/x'], s3Env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /bucket no-such-bucket does not exist/);
    const wrong = 'WrongSecretValue0123456789abcdef';
    const creds = await runCli(['snapshot', 'save', '--to', 's3://backups/creds'], {
      ...s3Env,
      AWS_SECRET_ACCESS_KEY: wrong,
    });
    assert.equal(creds.code, 1);
    assert.match(creds.stderr, /S3 rejected the credentials|S3 denied access/);
    assert.ok(!creds.all.includes(wrong));
    assert.deepEqual(await bucketKeys('backups', 'creds/'), []);
  });

  test('a folder that cannot be written, and a full disk', async () => {
    // Root ignores permission bits: make the folder's path run through a regular file instead.
    await writeFile(join(dir, 'a-file'), 'not a directory');
    const r = await runCli(['snapshot', 'save', '--to', join(dir, 'a-file', 'sub')], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: cannot (list|write) .*ENOTDIR/);

    assert.equal(process.getuid?.(), 0, 'the disk-full test mounts a 1 MiB tmpfs and needs root (CI runs as root)');
    const small = join(dir, 'tiny-disk');
    await run('mkdir', ['-p', small]);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', small]);
    try {
      const full = await runCli(['snapshot', 'save', '--to', small], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: vault.rootToken,
      });
      assert.equal(full.code, 1);
      assert.match(full.stderr, /disk is full|ENOSPC/);
      assert.deepEqual(await readdir(small), []);
    } finally {
      await run('umount', [small]);
    }
  });

  test('S3 server killed mid-upload: the save fails and the bucket holds no object', async () => {
    const victim = await startS3();
    try {
      await victim.createBucket('doomed');
      const store = await openSnapshotStore(
        's3://doomed/p',
        { s3Endpoint: victim.endpoint, s3ForcePathStyle: true, s3Region: 'us-east-1' },
        { AWS_ACCESS_KEY_ID: victim.accessKeyId, AWS_SECRET_ACCESS_KEY: victim.secretAccessKey },
      );
      const client = new VaultClient(
        await resolveConnection({ vaultAddr: vault.addr, allowInsecureHttp: false, requestTimeoutSeconds: 10 }),
        vault.rootToken,
      );
      let killed = false;
      await assert.rejects(
        saveSnapshot({
          vault: client,
          repository: new SnapshotRepository(store),
          logger: silentLogger,
          progress: (e) => {
            if (!killed && e.bytes > 3_000_000) {
              killed = true;
              victim.process.child.kill('SIGKILL');
            }
          },
        }),
        (e: any) => e.code === 'store' || e.code === 'vault-unreachable',
      );
      assert.ok(killed);
      await store.close();
      // The gateway is dead: look at its bucket directory itself.
      const objects = await readdir(join(victim.dir, 'root', 'doomed')).catch(() => [] as string[]);
      assert.deepEqual(
        objects.filter((n) => !n.startsWith('.')),
        [],
      );
    } finally {
      await victim.stop();
    }
  });
});
