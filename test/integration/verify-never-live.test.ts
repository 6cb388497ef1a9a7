import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../testbed/ports.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { startTransitSeal, type TransitSeal } from '../testbed/transit-seal.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { addDynamicRole, configurePostgresConnection, postgresLoginWorks } from '../helpers/database-engine.js';
import { onServer } from '../testbed/servers.js';

/**
 * A restore drill must never run the restored data live: a copy whose expiration manager runs
 * revokes the leases production renewed after the snapshot, dropping real database users.
 * Source clusters with the database engine over a real PostgreSQL; a dynamic credential whose
 * lease, as the snapshot recorded it, expires before the drill (production renewed it). After the
 * drill the user still exists and logs in. Since such a race can be won by luck, the mechanism is
 * asserted too: the scratch server's own API, polled throughout the drill, never serves the
 * restored data unsealed (its seal-status never shows the source's cluster id with sealed=false).
 */
let dir: string;
let db: PostgresTestbed;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-never-live-'));
  db = await startPostgres();
  // The CLI runs in this process: its drills make their temp dirs in os.tmpdir(), i.e. here
  // (set after PostgreSQL, whose dir must stay reachable for its unprivileged user).
  await mkdir(join(dir, 'tmp'));
  process.env.TMPDIR = join(dir, 'tmp');
});
after(async () => {
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SealSample {
  at: number;
  sealed?: boolean;
  clusterId?: string;
}

/** One GET over https to the scratch server, with or without the drill's client certificate. */
function scratchGet(
  port: number,
  path: string,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/${path}`,
        method: 'GET',
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        timeout: 2_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // Recovery mode answers seal-status with a plain-text 404: no JSON then.
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Poll the scratch server's sys/seal-status until stopped, with the client certificate the drill
 * keeps in its 0700 dir (the API requires one); unanswered polls (not listening, recovery mode)
 * record nothing. Also tries without a certificate, as any other local user would: never answered.
 */
function watchSealStatus(
  port: number,
  tmp: string,
): { stop(): Promise<{ samples: SealSample[]; answeredWithoutCert: number; triedWithoutCert: number }> } {
  const samples: SealSample[] = [];
  let answeredWithoutCert = 0;
  let triedWithoutCert = 0;
  let running = true;
  const loop = (async () => {
    let tls: { ca: string; cert: string; key: string } | undefined;
    while (running) {
      try {
        if (!tls) {
          const dir = (await readdir(tmp)).find((d) => d.startsWith('vault-ops-drill-'));
          if (dir) {
            const read = (f: string) => readFile(join(tmp, dir, f), 'utf8');
            tls = {
              ca: await read('tls-ca.pem'),
              cert: await read('tls-client.pem'),
              key: await read('tls-client-key.pem'),
            };
          }
        }
        if (tls) {
          const { status, body } = await scratchGet(port, 'sys/seal-status', tls);
          if (status === 200 && body) samples.push({ at: Date.now(), sealed: body.sealed, clusterId: body.cluster_id });
          triedWithoutCert++;
          await scratchGet(port, 'sys/seal-status', { ca: tls.ca }).then(
            () => answeredWithoutCert++,
            () => undefined,
          );
        }
      } catch {
        /* not up, restarting, or recovery mode (no seal-status there) */
      }
      await sleep(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, answeredWithoutCert, triedWithoutCert };
    },
    // stop() may be called twice (finally, then for the results): the loop ends once.
  };
}

async function drillLeavesProductionAlone(vault: VaultTestbed, name: string, sealStanza?: string): Promise<void> {
  const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
  const admin = `vault_admin_${name}`;
  const adminPassword = `A${Math.random().toString(36).slice(2)}Z9`;
  await db.query(`CREATE ROLE ${admin} WITH LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
  await configurePostgresConnection(api, db, {
    mount: 'database',
    connection: 'pg',
    username: admin,
    password: adminPassword,
  });
  await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'app', defaultTtl: '8s' });
  await api('POST', 'sys/mounts/vault-ops-canary', { type: 'kv', options: { version: '1' } });
  const cred = (await api('GET', 'database/creds/app')).body;
  const { username, password } = cred.data as { username: string; password: string };
  const issued = Date.now();
  assert.equal(await postgresLoginWorks(db, username, password), true);

  const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, TMPDIR: join(dir, 'tmp') };
  const store = join(dir, `store-${name}`);
  const saved = await runCli(['snapshot', 'save', '--to', store, '--canary', '--output', 'json'], env);
  assert.equal(saved.code, 0, saved.stderr);
  const sourceClusterId = saved.json().cluster.id as string;
  assert.ok(sourceClusterId);
  // Production renews the lease after the snapshot: in the snapshot it still expires in 8 s.
  await api('PUT', 'sys/leases/renew', { lease_id: cred.lease_id, increment: 3600 });
  const expiresInSnapshot = issued + 8_000;
  await sleep(Math.max(0, expiresInSnapshot - Date.now()) + 2_000);
  assert.equal(await postgresLoginWorks(db, username, password), true, 'production keeps the user alive');

  const keys = join(dir, `keys-${name}`);
  await writeFile(keys, vault.unsealKeys.join('\n'), { mode: 0o600 });
  const [port] = await freePorts(1);
  const args = [
    'verify',
    '--from',
    store,
    '--unseal-keys-file',
    keys,
    '--vault-binary',
    vault.binary,
    '--scratch-port',
    String(port),
    '--output',
    'json',
  ];
  if (sealStanza) {
    const sealFile = join(dir, `seal-${name}.hcl`);
    await writeFile(sealFile, sealStanza, { mode: 0o600 });
    args.push('--seal-config', sealFile);
  }
  const watcher = watchSealStatus(port!, env.TMPDIR);
  let drill: Awaited<ReturnType<typeof runCli>>;
  try {
    drill = await runCli(args, env);
  } finally {
    await watcher.stop();
  }
  const { samples, answeredWithoutCert, triedWithoutCert } = await watcher.stop();
  assert.equal(drill.code, 0, drill.stderr + drill.stdout);
  assert.equal(drill.json().passed, true);

  // The mechanism: the restored data was never served unsealed in normal mode.
  const liveCopy = samples.filter((s) => s.sealed === false && s.clusterId === sourceClusterId);
  assert.deepEqual(liveCopy, [], 'the scratch server served the restored data unsealed');
  assert.ok(samples.length > 0, 'the watcher saw the scratch server answer (right port)');
  // Another local user (no client certificate) never gets an answer: no racing sys/init or the recovery token.
  assert.ok(triedWithoutCert > 0);
  assert.equal(answeredWithoutCert, 0, 'the scratch API answered a client without the drill`s certificate');
  // The outcome: production's user is still there and logs in.
  await sleep(2_000);
  const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
  assert.equal(exists.rowCount, 1, 'the drill dropped the production database user');
  assert.equal(await postgresLoginWorks(db, username, password), true);
  assert.equal(tmpdir(), env.TMPDIR, 'the drill ran where this test looks');
  assert.deepEqual(
    (await readdir(env.TMPDIR)).filter((d) => d.startsWith('vault-ops-drill-')),
    [],
    'no drill temp dir is left',
  );
}

describe(onServer('verify never runs the restored data live'), () => {
  test('Shamir source: an expired-in-snapshot lease is not revoked by the drill', async () => {
    const vault = await startVault();
    try {
      await drillLeavesProductionAlone(vault, 'shamir');
    } finally {
      await vault.stop();
    }
  });

  test(
    'transit auto-unseal source: the scratch server restores sealed (Shamir), then opens the copy only in ' +
      'recovery mode',
    async () => {
      let transit: TransitSeal | undefined;
      let vault: VaultTestbed | undefined;
      try {
        transit = await startTransitSeal();
        vault = await startVault({ sealConfig: transit.stanza });
        await drillLeavesProductionAlone(vault, 'transit', transit.stanza);
      } finally {
        await vault?.stop();
        await transit?.stop();
      }
    },
  );
});
