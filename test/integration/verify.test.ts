import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let vault: VaultTestbed;
let dir: string;
let store: string;
let drillTmp: string;
let keysFile: string;
let tokenFile: string;
let identityFile: string;
let env: Record<string, string>;
let plainId: string;
let encryptedId: string;

/** Processes whose command line mentions `needle` (a leftover scratch server or watchdog). */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

/** Scratch dirs of drills (tsx keeps its own cache in the same TMPDIR). */
async function drillDirs(): Promise<string[]> {
  return (await readdir(drillTmp)).filter((d) => d.startsWith('vault-ops-drill-'));
}

/**
 * TCP sockets (IPv4, loopback here) whose remote end is `port`, in any state: a dial shows as
 * SYN_SENT or ESTABLISHED while it lasts, and as TIME_WAIT for a minute after the dialler closes.
 */
async function socketsDialling(port: number): Promise<string[]> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const lines = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  return lines
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2]?.endsWith(`:${hex}`))
    .map((f) => `${f[1]} -> ${f[2]} state ${f[3]}`);
}

/** Kill and remove whatever a failed drill test left, so that the failure is reported once. */
async function removeLeftovers(): Promise<void> {
  for (const line of await processesMentioning(drillTmp)) {
    try {
      process.kill(Number(line.split(':')[0]), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const d of await drillDirs()) await rm(join(drillTmp, d), { recursive: true, force: true });
}

async function assertNothingLeft(): Promise<void> {
  assert.deepEqual(await drillDirs(), [], 'no drill temp dir is left');
  assert.deepEqual(await processesMentioning(drillTmp), [], 'no scratch process is left');
}

before(async () => {
  vault = await startVault();
  console.log(`testbed: ${vault.version}`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-verify-test-'));
  drillTmp = join(dir, 'tmp');
  await mkdir(drillTmp);
  // Drills of in-process runs put their scratch dirs here (os.tmpdir() reads TMPDIR).
  process.env.TMPDIR = drillTmp;
  store = join(dir, 'store');
  keysFile = join(dir, 'unseal-keys');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, vault.rootToken, { mode: 0o600 });
  const identity = await generateIdentity();
  identityFile = join(dir, 'identity.txt');
  await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    TMPDIR: drillTmp,
  };

  await seedSecrets(vault.addr, vault.rootToken, { count: 10 });
  await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', {
    token: vault.rootToken,
    body: { type: 'kv', options: { version: '1' } },
  });
  await bootstrapRequest(vault.addr, 'POST', 'sys/auth/approle', { token: vault.rootToken, body: { type: 'approle' } });
  // Local (non-replicated) mounts and auth methods live in tables of their own on both servers;
  // cubbyhole/ is one by default. A drill that read only the replicated tables failed on Vault.
  await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/local-kv', {
    token: vault.rootToken,
    body: { type: 'kv', local: true, options: { version: '2' } },
  });
  await bootstrapRequest(vault.addr, 'POST', 'sys/auth/local-userpass', {
    token: vault.rootToken,
    body: { type: 'userpass', local: true },
  });
  await bootstrapRequest(vault.addr, 'POST', 'sys/policies/acl/payments-read', {
    token: vault.rootToken,
    body: { policy: 'path "secret/data/payments/*" { capabilities = ["read"] }' },
  });
  const a = await runCli(['snapshot', 'save', '--to', store, '--canary', '--output', 'json'], env);
  assert.equal(a.code, 0, a.stderr);
  plainId = a.json().id;
  const b = await runCli(
    [
      'snapshot',
      'save',
      '--to',
      store,
      '--canary',
      '--encrypt-to',
      await identityToRecipient(identity),
      '--output',
      'json',
    ],
    env,
  );
  assert.equal(b.code, 0, b.stderr);
  encryptedId = b.json().id;
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('verify: the restore drill'), () => {
  test(
    'recovery mode (default) on an encrypted snapshot passes every check; nothing of it is left; no secret ' +
      'printed',
    async () => {
      const r = await runCli(
        [
          'verify',
          '--from',
          store,
          '--snapshot',
          encryptedId,
          '--unseal-keys-file',
          keysFile,
          '--identity-file',
          identityFile,
          '--output',
          'json',
          '--log-level',
          'debug',
        ],
        env,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const report = r.json();
      assert.equal(report.snapshotId, encryptedId);
      assert.equal(report.mode, 'recovery');
      assert.equal(report.passed, true);
      assert.deepEqual(
        report.checks.map((c: any) => c.name),
        ['archive-integrity', 'unseal', 'mounts', 'auth-methods', 'policies', 'canary'],
      );
      assert.ok(
        report.checks.every((c: any) => c.passed),
        JSON.stringify(report.checks),
      );
      for (const phase of ['download', 'start', 'restore', 'unseal', 'checks', 'total'])
        assert.equal(typeof report.timings[phase], 'number', phase);
      assert.ok(report.timings.total >= report.timings.restore);
      // The drill's record, beside the snapshot's manifest.
      assert.match(report.record, new RegExp(`^${encryptedId}\\.drill-\\d{8}T\\d{6}Z\\.json$`));
      const record = JSON.parse(await readFile(join(store, report.record), 'utf8'));
      assert.equal(record.snapshotId, encryptedId);
      assert.equal(record.passed, true);
      assert.equal(record.mode, 'recovery');
      assert.deepEqual(record.server, { flavour: vault.server.name, version: vault.server.version });
      assert.deepEqual(record.checks, report.checks);
      assert.deepEqual(record.timings, report.timings);
      assert.equal(record.rtoSeconds, report.timings.total);
      assert.equal(record.toolVersion, JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).version);
      assert.ok(Date.parse(record.finishedAt) > 0);
      for (const secret of [...vault.unsealKeys, vault.rootToken])
        assert.ok(!r.all.includes(secret), 'a secret reached the output');
      const stored = await readFile(join(store, report.record), 'utf8');
      for (const secret of [...vault.unsealKeys, vault.rootToken]) assert.ok(!stored.includes(secret));
      assert.ok(!r.all.includes((await readFile(identityFile, 'utf8')).trim()));
      await assertNothingLeft();
    },
  );

  test(
    'unsealed mode with the source token reads the secrets named by --check-secret, and never dials the ' +
      'source cluster',
    async () => {
      // The restored data names the source's active node; a scratch server that believed it would
      // dial the source's cluster port (here a live server on loopback; in real life production).
      const source = vault.nodes[0]!.clusterPort;
      const dialled = new Set<string>();
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const c of await socketsDialling(source)) dialled.add(c);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const r = await runCli(
        [
          'verify',
          '--from',
          store,
          '--snapshot',
          'oldest',
          '--mode',
          'unsealed',
          '--i-understand-unsealed-runs-live',
          '--verify-token-file',
          tokenFile,
          '--check-secret',
          'secret/app/s1',
          '--check-secret',
          'secret/app/s9',
          '--unseal-keys-file',
          keysFile,
        ],
        env,
      );
      watching = false;
      await watcher;
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /PASSED/);
      assert.match(r.stdout, /ok\s+secret secret\/app\/s1/);
      assert.deepEqual([...dialled], [], `the drill's scratch server dialled the source's cluster port ${source}`);
      await assertNothingLeft();
    },
  );

  test(
    'unsealed mode only from the command line and acknowledged: refused (exit 2) from env, config file, or ' +
      'without the acknowledgement',
    async () => {
      const base = [
        'verify',
        '--from',
        store,
        '--snapshot',
        plainId,
        '--verify-token-file',
        tokenFile,
        '--unseal-keys-file',
        keysFile,
      ];
      const noAck = await runCli([...base, '--mode', 'unsealed'], env);
      assert.equal(noAck.code, 2, noAck.stderr);
      assert.match(noAck.stderr, /--mode unsealed runs the restored copy live .*add --i-understand-unsealed-runs-live/);
      const fromEnv = await runCli([...base, '--i-understand-unsealed-runs-live'], {
        ...env,
        VAULT_OPS_VERIFY_MODE: 'unsealed',
      });
      assert.equal(fromEnv.code, 2, fromEnv.stderr);
      assert.match(
        fromEnv.stderr,
        /VAULT_OPS_VERIFY_MODE=unsealed is refused: --mode unsealed is accepted only as a command-line flag/,
      );
      const config = join(dir, 'unsealed-config.yaml');
      await writeFile(config, 'mode: unsealed\niUnderstandUnsealedRunsLive: true\n');
      const fromFile = await runCli([...base, '--config', config], env);
      assert.equal(fromFile.code, 2, fromFile.stderr);
      assert.match(fromFile.stderr, /--mode unsealed is accepted only as a command-line flag/);
      for (const r of [noAck, fromEnv, fromFile]) assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      await assertNothingLeft();
    },
  );

  test('wrong unseal keys: exit 3, the unseal check names the problem', async () => {
    const wrong = join(dir, 'wrong-keys');
    await writeFile(wrong, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
    const r = await runCli(
      ['verify', '--from', store, '--snapshot', plainId, '--unseal-keys-file', wrong, '--output', 'json'],
      env,
    );
    assert.equal(r.code, 3, r.stderr);
    const unseal = r.json().checks.find((c: any) => c.name === 'unseal');
    assert.equal(unseal.passed, false);
    assert.match(unseal.detail, /do not open this snapshot/);
    // A failed drill is recorded too, and is what `snapshot list` shows for the snapshot now.
    const record = JSON.parse(await readFile(join(store, r.json().record), 'utf8'));
    assert.equal(record.passed, false);
    assert.equal(record.snapshotId, plainId);
    const listed = await runCli(['snapshot', 'list', '--from', store], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${plainId} .* FAILED$`, 'm'));
    const json = (await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env)).json();
    const entry = json.snapshots.find((x: any) => x.id === plainId);
    assert.equal(entry.lastDrill.passed, false);
    assert.equal(entry.lastDrill.key, r.json().record);
    await assertNothingLeft();
  });

  test('a manifest describing another snapshot (the archive was swapped): exit 3', async () => {
    const swapped = join(dir, 'swapped');
    await mkdir(swapped);
    for (const f of await readdir(store)) await copyFile(join(store, f), join(swapped, f));
    // Put the encrypted snapshot's bytes where the plain one's archive should be.
    await copyFile(join(store, `${encryptedId}.snap.age`), join(swapped, `${plainId}.snap`));
    const r = await runCli(
      ['verify', '--from', swapped, '--snapshot', plainId, '--unseal-keys-file', keysFile, '--output', 'json'],
      env,
    );
    assert.equal(r.code, 3, r.stderr);
    const integrity = r.json().checks[0];
    assert.equal(integrity.name, 'archive-integrity');
    assert.match(integrity.detail, /the manifest says/);
    await assertNothingLeft();
  });

  test('a corrupted and a truncated archive: exit 3', async () => {
    for (const damage of ['flip', 'truncate'] as const) {
      const damaged = join(dir, `damaged-${damage}`);
      await mkdir(damaged);
      for (const f of await readdir(store)) if (f.startsWith(plainId)) await copyFile(join(store, f), join(damaged, f));
      const file = join(damaged, `${plainId}.snap`);
      const bytes = await readFile(file);
      if (damage === 'flip') bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await writeFile(file, damage === 'flip' ? bytes : bytes.subarray(0, bytes.length - 100));
      const r = await runCli(['verify', '--from', damaged, '--unseal-keys-file', keysFile], env);
      assert.equal(r.code, 3, `${damage}: ${r.stderr}`);
      assert.match(r.stderr, /archive-integrity/);
    }
    await assertNothingLeft();
  });

  test('a scratch binary that is missing, or crashes on start: exit 1 with a clear line', async () => {
    const missing = await runCli(
      [
        'verify',
        '--from',
        store,
        '--snapshot',
        plainId,
        '--unseal-keys-file',
        keysFile,
        '--vault-binary',
        join(dir, 'no-such-bao'),
      ],
      env,
    );
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /cannot run the scratch server binary .*no-such-bao \(not found\)/);
    const crasher = join(dir, 'crashing-bao');
    await writeFile(
      crasher,
      `#!/bin/sh\nif [ "$1" = version ]; then echo "${vault.server.product} v9.9.9"; exit 0; fi\necho "Error parsing ` +
        `listener: boom" >&2\nexit 1\n`,
    );
    await chmod(crasher, 0o755);
    const crashed = await runCli(
      ['verify', '--from', store, '--snapshot', plainId, '--unseal-keys-file', keysFile, '--vault-binary', crasher],
      env,
    );
    assert.equal(crashed.code, 1, crashed.stderr);
    assert.match(crashed.stderr, /scratch server .*exited with code 1 .*Error parsing listener: boom/);
    await assertNothingLeft();
  });

  test('a scratch binary older than the snapshot’s Vault is refused', async () => {
    const old = join(dir, 'old-bao');
    await writeFile(old, `#!/bin/sh\necho "${vault.server.product} v1.0.0"\n`);
    await chmod(old, 0o755);
    const r = await runCli(
      ['verify', '--from', store, '--snapshot', plainId, '--unseal-keys-file', keysFile, '--vault-binary', old],
      env,
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `is 1\\.0\\.0, older than the snapshot's (OpenBao|HashiCorp Vault) ` +
          `${vault.server.version.replaceAll('.', '\\.')}`,
      ),
    );
  });

  test('the manifest records the flavour and the local mounts (cubbyhole/, -local) the drill compares', async () => {
    const manifest = JSON.parse(await readFile(join(store, `${plainId}.manifest.json`), 'utf8'));
    assert.equal(manifest.cluster.flavour, vault.server.name);
    const mounts = manifest.mounts.map((m: any) => m.path);
    assert.ok(mounts.includes('cubbyhole/') && mounts.includes('local-kv/'), mounts.join(','));
    assert.ok(manifest.authMethods.some((m: any) => m.path === 'local-userpass/'));
  });

  test('a scratch binary of the other flavour is refused with exit 2 before anything starts', async () => {
    const other = vault.server.name === 'vault' ? 'OpenBao' : 'Vault';
    const marker = join(dir, 'other-flavour-started');
    const impostor = join(dir, 'other-flavour');
    await writeFile(
      impostor,
      `#!/bin/sh\nif [ "$1" = version ]; then echo "${other} v9.9.9"; exit 0; fi\ntouch ${marker}\nexit 1\n`,
    );
    await chmod(impostor, 0o755);
    const r = await runCli(
      ['verify', '--from', store, '--snapshot', plainId, '--unseal-keys-file', keysFile, '--vault-binary', impostor],
      env,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `is ${other === 'Vault' ? 'HashiCorp Vault' : 'OpenBao'}, but snapshot ${plainId} comes from ` +
          `${vault.server.name === 'vault' ? 'HashiCorp Vault' : 'OpenBao'}: .*--vault-binary`,
      ),
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    await assert.rejects(readFile(marker), 'the other flavour was never started');
    await assertNothingLeft();
  });

  test(
    'without --vault-binary the drill runs the snapshot flavour`s own CLI from PATH, never the other ' + 'one',
    async () => {
      const bin = join(dir, 'path-bin');
      await mkdir(bin, { recursive: true });
      const own = vault.server.cli;
      const otherCli = own === 'vault' ? 'bao' : 'vault';
      const marker = join(dir, 'wrong-cli-ran');
      await writeFile(join(bin, own), `#!/bin/sh\nexec ${vault.binary} "$@"\n`);
      await writeFile(join(bin, otherCli), `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
      await chmod(join(bin, own), 0o755);
      await chmod(join(bin, otherCli), 0o755);
      const { VAULT_OPS_VAULT_BINARY: _, ...noBinary } = env;
      const r = await runCli(
        ['verify', '--from', store, '--snapshot', plainId, '--unseal-keys-file', keysFile, '--output', 'json'],
        { ...noBinary, PATH: `${bin}:${process.env.PATH}` },
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.json().passed, true);
      await assert.rejects(readFile(marker), `${otherCli} was never run`);
      await assertNothingLeft();
    },
  );

  test('a scratch port already taken: exit 1 naming the port', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(
        [
          'verify',
          '--from',
          store,
          '--snapshot',
          plainId,
          '--unseal-keys-file',
          keysFile,
          '--scratch-port',
          String(port),
        ],
        env,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}.*address already in use.*--scratch-port`),
      );
    } finally {
      blocker.close();
    }
    await assertNothingLeft();
  });

  // `group`: the job's whole process group is SIGKILLed (the daemon's last resort, a pod stopped):
  // the watchdogs live in groups of their own and still clean up. `early`: killed as soon as the
  // drill's temp dir exists (the decrypted archive may be landing there, no server yet).
  const kills = [
    { signal: 'SIGTERM', group: false, early: false },
    { signal: 'SIGKILL', group: false, early: false },
    { signal: 'SIGKILL', group: true, early: false },
    { signal: 'SIGKILL', group: true, early: true },
  ] as const;
  for (const { signal, group, early } of kills) {
    test(
      `the drill ${group ? 'and its whole process group ' : ''}killed with ${signal} ` +
        `${early ? 'as soon as its temp dir exists' : 'halfway'} leaves no scratch process and no temp dir`,
      async () => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(root, 'src/cli/entry.ts'),
            'verify',
            '--from',
            store,
            '--snapshot',
            encryptedId,
            '--identity-file',
            identityFile,
            '--unseal-keys-file',
            keysFile,
            '--log-level',
            'debug',
          ],
          {
            cwd: root,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: group,
          },
        );
        let stderr = '';
        child.stderr.on('data', (c) => (stderr += String(c)));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        // Halfway: once the scratch server has written its raft data.
        const deadline = Date.now() + 60_000;
        let halfway = false;
        while (Date.now() < deadline && !halfway) {
          for (const d of await drillDirs()) {
            if (early || (await readdir(join(drillTmp, d, 'raft')).catch(() => [] as string[])).includes('vault.db'))
              halfway = true;
          }
          await new Promise((r) => setTimeout(r, early ? 5 : 100));
        }
        assert.ok(halfway, `the drill never got halfway: ${stderr}`);
        if (group) process.kill(-child.pid!, signal);
        else child.kill(signal);
        const code = await exited;
        if (signal === 'SIGTERM') assert.notEqual(code, 0);
        // The SIGKILLed drill cleaned nothing itself: its watchdog must, within a few seconds (more
        // on a loaded CI machine, where the watchdog itself takes a while to start under tsx).
        const cleanDeadline = Date.now() + 20_000;
        while (
          Date.now() < cleanDeadline &&
          ((await drillDirs()).length > 0 || (await processesMentioning(drillTmp)).length > 0)
        ) {
          await new Promise((r) => setTimeout(r, 200));
        }
        try {
          await assertNothingLeft();
        } finally {
          // A leak fails this test only, not every later test that checks for leftovers.
          await removeLeftovers();
        }
      },
    );
  }
});

describe(onServer('drill records: snapshot list, --unverified, verify --snapshot unverified'), () => {
  /** A store holding copies of the two snapshots and nothing else (no drill yet). */
  async function freshStore(name: string): Promise<string> {
    const fresh = join(dir, name);
    await mkdir(fresh);
    for (const f of await readdir(store))
      if (/\.(snap|snap\.age|manifest\.json)$/.test(f)) await copyFile(join(store, f), join(fresh, f));
    return fresh;
  }
  const unverifiedIds = async (from: string) => {
    const r = await runCli(['snapshot', 'list', '--from', from, '--unverified', '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    return r.json().snapshots.map((x: any) => x.id);
  };
  const drillUnverified = (from: string) =>
    runCli(
      [
        'verify',
        '--from',
        from,
        '--snapshot',
        'unverified',
        '--unseal-keys-file',
        keysFile,
        '--identity-file',
        identityFile,
        '--output',
        'json',
      ],
      env,
    );

  test(
    'a store that refuses the record (read-only folder): one warning line, the drill still counts; then the ' +
      'newest unverified snapshot is drilled and recorded, then the next, then nothing is left to do',
    async () => {
      const fresh = await freshStore('fresh');
      const before = (await readdir(fresh)).sort();
      const text = await runCli(['snapshot', 'list', '--from', fresh], env);
      assert.match(text.stdout, /^ID .* DRILL$/m);
      assert.match(text.stdout, new RegExp(`^${plainId} .* never$`, 'm'));
      assert.deepEqual(await unverifiedIds(fresh), [encryptedId, plainId], 'never drilled, newest first');

      // Not writable, even for root (who ignores the mode bits): the immutable attribute.
      await chmod(fresh, 0o555);
      const root = process.getuid?.() === 0;
      if (root) execFileSync('chattr', ['+i', fresh]);
      let readOnly;
      try {
        readOnly = await drillUnverified(fresh);
      } finally {
        if (root) execFileSync('chattr', ['-i', fresh]);
        await chmod(fresh, 0o700);
      }
      assert.equal(readOnly.code, 0, readOnly.stderr + readOnly.stdout);
      assert.equal(readOnly.json().snapshotId, encryptedId, 'the newest snapshot without a passing drill');
      assert.equal(readOnly.json().passed, true);
      assert.equal(readOnly.json().record, null);
      const warnings = readOnly.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      assert.equal(warnings.length, 1, readOnly.stderr);
      assert.match(warnings[0]!, /the result of this drill was not recorded in file:\/\/.*fresh .*write access/);
      assert.deepEqual((await readdir(fresh)).sort(), before, 'nothing was written');
      await assertNothingLeft();

      const first = await drillUnverified(fresh);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.json().snapshotId, encryptedId, 'unrecorded drills do not count in the store');
      assert.ok((await readdir(fresh)).includes(first.json().record));
      assert.deepEqual(await unverifiedIds(fresh), [plainId]);
      const listed = await runCli(['snapshot', 'list', '--from', fresh, '--output', 'json'], env);
      const entry = listed.json().snapshots.find((x: any) => x.id === encryptedId);
      assert.equal(entry.lastDrill.passed, true);
      assert.equal(entry.lastDrill.key, first.json().record);
      assert.equal(entry.lastDrill.rtoSeconds, first.json().timings.total);
      assert.deepEqual(entry.lastDrill.server, { flavour: vault.server.name, version: vault.server.version });
      assert.deepEqual(entry.lastPassingDrill, entry.lastDrill);
      const day = entry.lastDrill.finishedAt.slice(0, 10);
      const textAfter = await runCli(['snapshot', 'list', '--from', fresh], env);
      assert.match(
        textAfter.stdout,
        new RegExp(`^${encryptedId} .* verified ${day} · ${Math.round(first.json().timings.total)} s$`, 'm'),
      );
      const textUnverified = await runCli(['snapshot', 'list', '--from', fresh, '--unverified'], env);
      assert.ok(textUnverified.stdout.includes(plainId) && !textUnverified.stdout.includes(encryptedId));

      const second = await drillUnverified(fresh);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.json().snapshotId, plainId, 'the newest is verified: the next one');
      assert.deepEqual(await unverifiedIds(fresh), []);

      const none = await drillUnverified(fresh);
      assert.equal(none.code, 0, none.stderr);
      assert.deepEqual(none.json(), { allVerified: true, snapshots: 2, newestVerified: encryptedId, record: null });
      const noneText = await runCli(
        ['verify', '--from', fresh, '--snapshot', 'unverified', '--unseal-keys-file', keysFile],
        env,
      );
      assert.equal(noneText.code, 0);
      assert.match(
        noneText.stdout,
        /^Every snapshot in file:\/\/.* has a passing restore drill \(2 snapshots\): nothing/,
      );
      const all = await runCli(['snapshot', 'list', '--from', fresh, '--unverified'], env);
      assert.match(all.stdout, /every snapshot in .* has a passing restore drill/);
      await assertNothingLeft();
    },
  );

  test('verify --snapshot unverified of an empty store: exit 1, take a snapshot first', async () => {
    const empty = join(dir, 'empty-store');
    await mkdir(empty);
    const r = await runCli(
      ['verify', '--from', empty, '--snapshot', 'unverified', '--unseal-keys-file', keysFile],
      env,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no complete snapshot in file:\/\/.*empty-store: take one with 'vault-ops snapshot save/);
  });
});
