// The testbed itself: versitygw (S3) and PostgreSQL really start, behave like the real services
// vault-ops talks to, and leave nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pg from 'pg';
import { startPostgres, startS3, type PostgresTestbed, type S3Testbed } from '../testbed/index.js';

const MiB = 1024 * 1024;

/** Command lines of every process we can see (Linux /proc), to prove secrets never reach argv. */
function allCommandLines(): string[] {
  if (!existsSync('/proc')) return [];
  const lines: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      /* gone meanwhile */
    }
  }
  return lines;
}

async function bodyBytes(client: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  assert.ok(res.Body, 'GetObject returned no body');
  return Buffer.from(await res.Body.transformToByteArray());
}

describe('testbed', () => {
  let s3: S3Testbed | undefined;
  let postgres: PostgresTestbed | undefined;

  before(async () => {
    const [s3Result, pgResult] = await Promise.allSettled([startS3(), startPostgres()]);
    if (s3Result.status === 'fulfilled') s3 = s3Result.value;
    if (pgResult.status === 'fulfilled') postgres = pgResult.value;
    const failures = [s3Result, pgResult].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      await Promise.allSettled([s3?.stop(), postgres?.stop()]);
      throw failures[0]?.reason;
    }
    console.log(`testbed: versitygw ${s3?.version} at ${s3?.endpoint}`);
    console.log(`testbed: ${postgres?.version} at 127.0.0.1:${postgres?.port}`);
  });

  after(async () => {
    // Also runs when a test failed; stop() is idempotent.
    await Promise.allSettled([s3?.stop(), postgres?.stop()]);
  });

  const S3 = (): S3Testbed => {
    assert.ok(s3, 'S3 testbed did not start');
    return s3;
  };
  const PG = (): PostgresTestbed => {
    assert.ok(postgres, 'Postgres testbed did not start');
    return postgres;
  };

  describe('S3 (versitygw)', () => {
    it('puts and gets an object and lists it', async () => {
      const tb = S3();
      const client = tb.client();
      await tb.createBucket('plain');
      await client.send(new PutObjectCommand({ Bucket: 'plain', Key: 'dir/hello.txt', Body: 'hello, vault-ops' }));
      await client.send(new PutObjectCommand({ Bucket: 'plain', Key: 'other.txt', Body: 'x' }));
      assert.equal((await bodyBytes(client, 'plain', 'dir/hello.txt')).toString('utf8'), 'hello, vault-ops');
      assert.deepEqual(await tb.listKeys('plain'), ['dir/hello.txt', 'other.txt']);
      assert.deepEqual(await tb.listKeys('plain', 'dir/'), ['dir/hello.txt']);
    });

    it('round-trips a 12 MiB multipart upload with SHA256 checksums byte for byte', async () => {
      const tb = S3();
      const client = tb.client();
      await tb.createBucket('multipart');
      const data = randomBytes(12 * MiB);
      const upload = new Upload({
        client,
        params: { Bucket: 'multipart', Key: 'snapshots/big.snap', Body: data, ChecksumAlgorithm: 'SHA256' },
        partSize: 5 * MiB,
        queueSize: 3,
        leavePartsOnError: false,
      });
      const parts = new Set<number>();
      upload.on('httpUploadProgress', (p) => {
        if (p.part !== undefined) parts.add(p.part);
      });
      const result = await upload.done();
      assert.equal(parts.size, 3, `expected 3 parts, saw ${[...parts].join(',')}`);
      assert.match(result.ETag ?? '', /-3"?$/, `multipart ETag should end in -3, got ${result.ETag}`);
      const back = await bodyBytes(client, 'multipart', 'snapshots/big.snap');
      assert.equal(back.length, data.length);
      assert.ok(back.equals(data), 'downloaded bytes differ from the uploaded ones');
      const head = await client.send(
        new HeadObjectCommand({ Bucket: 'multipart', Key: 'snapshots/big.snap', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head.ContentLength, data.length);
      // A multipart object's SHA256 is the checksum of the part checksums, suffixed with the part count.
      assert.match(head.ChecksumSHA256 ?? '', /^[A-Za-z0-9+/]{43}=-3$/, `ChecksumSHA256: ${head.ChecksumSHA256}`);
    });

    it('keeps two versions of the same key in a versioned bucket', async () => {
      const tb = S3();
      const client = tb.client();
      await tb.createBucket('versioned', { versioning: true });
      const v1 = await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'one' }));
      const v2 = await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'two' }));
      assert.ok(v1.VersionId && v2.VersionId, 'PutObject returned no VersionId');
      assert.notEqual(v1.VersionId, v2.VersionId);
      const listed = await client.send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'k' }));
      const versions = (listed.Versions ?? []).filter((v) => v.Key === 'k');
      assert.equal(versions.length, 2);
      assert.deepEqual(new Set(versions.map((v) => v.VersionId)), new Set([v1.VersionId, v2.VersionId]));
      assert.equal(versions.find((v) => v.IsLatest)?.VersionId, v2.VersionId);
      assert.equal((await bodyBytes(client, 'versioned', 'k', v1.VersionId)).toString(), 'one');
      assert.equal((await bodyBytes(client, 'versioned', 'k')).toString(), 'two');
    });

    it('refuses to delete a GOVERNANCE-retained version without bypass', async () => {
      const tb = S3();
      const client = tb.client();
      await tb.createBucket('locked', { objectLock: true });
      const put = await client.send(
        new PutObjectCommand({
          Bucket: 'locked',
          Key: 'snap',
          Body: 'retained',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: new Date(Date.now() + 60 * 60 * 1000),
        }),
      );
      assert.ok(put.VersionId, 'object-lock bucket returned no VersionId (versioning not on?)');
      const head = await client.send(
        new HeadObjectCommand({ Bucket: 'locked', Key: 'snap', VersionId: put.VersionId }),
      );
      assert.equal(head.ObjectLockMode, 'GOVERNANCE');
      await assert.rejects(
        client.send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'snap', VersionId: put.VersionId })),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.$metadata?.httpStatusCode, 403, `expected 403, got ${err.name}: ${err.message}`);
          return true;
        },
      );
      assert.equal((await bodyBytes(client, 'locked', 'snap', put.VersionId)).toString(), 'retained');
      // versitygw 1.7.0 quirk: even root's BypassGovernanceRetention is refused until the bucket
      // policy grants s3:BypassGovernanceRetention (AWS lets root bypass without a policy).
      const bypassDelete = new DeleteObjectCommand({
        Bucket: 'locked',
        Key: 'snap',
        VersionId: put.VersionId,
        BypassGovernanceRetention: true,
      });
      await assert.rejects(client.send(bypassDelete), { name: 'AccessDenied' });
      await tb.allowGovernanceBypass('locked');
      // The refusal was the retention: with the bypass (now granted) the version can go.
      await client.send(
        new DeleteObjectCommand({
          Bucket: 'locked',
          Key: 'snap',
          VersionId: put.VersionId,
          BypassGovernanceRetention: true,
        }),
      );
      const listed = await client.send(new ListObjectVersionsCommand({ Bucket: 'locked', Prefix: 'snap' }));
      assert.equal((listed.Versions ?? []).length, 0);
    });

    it('keeps the credentials out of every argv', () => {
      const tb = S3();
      const lines = allCommandLines();
      assert.ok(
        lines.some((l) => l.includes('versitygw') && l.includes(tb.endpoint.split(':').at(-1)!)),
        'versitygw process not found',
      );
      assert.ok(!lines.some((l) => l.includes(tb.secretAccessKey)), 'the S3 secret key appears in a process argv');
    });
  });

  describe('PostgreSQL', () => {
    it('answers select version()', async () => {
      const { rows } = await PG().query<{ version: string }>('select version()');
      assert.match(rows[0]?.version ?? '', /^PostgreSQL \d+/);
    });

    it('creates a role that logs in with its password (and only with it)', async () => {
      const tb = PG();
      const rolePassword = randomBytes(16).toString('hex');
      await tb.query(`create role vault_ops_app login password '${rolePassword}'`);
      const app = new pg.Client({
        host: tb.host,
        port: tb.port,
        user: 'vault_ops_app',
        password: rolePassword,
        database: 'postgres',
      });
      await app.connect();
      try {
        const { rows } = await app.query<{ user: string }>('select current_user as user');
        assert.equal(rows[0]?.user, 'vault_ops_app');
      } finally {
        await app.end();
      }
      const wrong = new pg.Client({
        host: tb.host,
        port: tb.port,
        user: 'vault_ops_app',
        password: 'wrong',
        database: 'postgres',
      });
      wrong.on('error', () => {});
      await assert.rejects(wrong.connect(), /password authentication failed/);
      await wrong.end().catch(() => {});
      // The URL works as given.
      const viaUrl = new pg.Client({ connectionString: tb.url });
      await viaUrl.connect();
      await viaUrl.end();
    });

    it('keeps the password out of every argv', () => {
      const tb = PG();
      const lines = allCommandLines();
      assert.ok(
        lines.some((l) => l.includes('postgres') && l.includes(String(tb.port))),
        'postgres process not found',
      );
      assert.ok(!lines.some((l) => l.includes(tb.password)), 'the postgres password appears in a process argv');
    });
  });

  it('stop() ends the servers and removes their temp dirs', async () => {
    const tb = S3();
    const db = PG();
    assert.ok(existsSync(tb.dir) && existsSync(db.dir) && existsSync(db.dataDir));
    await Promise.all([tb.stop(), db.stop()]);
    assert.equal(existsSync(tb.dir), false, `${tb.dir} still exists`);
    assert.equal(existsSync(db.dir), false, `${db.dir} still exists`);
    assert.ok(tb.process.child.exitCode !== null || tb.process.child.signalCode !== null, 'versitygw still running');
    assert.ok(db.process.child.exitCode !== null || db.process.child.signalCode !== null, 'postgres still running');
    await assert.rejects(db.query('select 1'));
  });
});
