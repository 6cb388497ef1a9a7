// `npm run testbed` as a user's sandbox (issue 29, item 9): help without starting anything, the
// runbooks' keys.txt, the binaries' paths, the database engine with --database, and a Ctrl-C that
// stops everything in order and leaves nothing behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { onServer, testServer } from '../testbed/servers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = ['--import', 'tsx', 'test/testbed/cli.ts'];

test('npm run testbed -- --help prints the options and starts nothing; an unknown option exits 2', () => {
  const help = spawnSync(process.execPath, [...cli, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.status, 0, help.stderr);
  for (const option of ['--server openbao|vault', '--nodes 1|3', '--database', '--kubernetes', '--help'])
    assert.ok(help.stdout.includes(option), option);
  assert.doesNotMatch(help.stdout, /export VAULT_ADDR/);
  const bad = spawnSync(process.execPath, [...cli, '--bogus'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: .*bogus/m);
});

test(onServer('npm run testbed --database: keys.txt, paths, the engine set up; Ctrl-C stops cleanly'), async () => {
  // A terminal's Ctrl-C goes to the whole foreground process group: the testbed gets a group of its own.
  const child = spawn(process.execPath, [...cli, '--database', '--server', testServer().name], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const deadline = Date.now() + 180_000;
  while (!out.includes('# Ctrl-C to stop.') && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 200));
  try {
    assert.ok(out.includes('# Ctrl-C to stop.'), out + err);
    const value = (name: string) => out.match(new RegExp(`^export ${name}=(\\S+)$`, 'm'))?.[1] ?? '';
    const addr = value('VAULT_ADDR');
    const token = value('VAULT_TOKEN');
    const keys = value('VAULT_OPS_UNSEAL_KEYS_FILE');
    assert.match(out, new RegExp(`# unseal keys file \\(the runbooks' keys\\.txt\\): ${keys}$`, 'm'));
    assert.ok(keys.endsWith('/keys.txt'));
    assert.equal((await readFile(keys, 'utf8')).trim().split('\n').length, 1, 'one unseal key per line');
    const bin = testServer().name === 'vault' ? 'vault' : 'bao';
    const path = value('PATH').replace(/:\$PATH$/, '');
    assert.ok(existsSync(`${path}/${bin}`), `${bin} in ${path}`);
    assert.match(out, /^alias vault-ops='node \S+\/bin\/vault-ops\.js'/m);
    // --database: the engine the rotate-root runbook uses, ready.
    const config = await bootstrapRequest(addr, 'GET', 'database/config/pg', { token });
    assert.equal(config.body.data.connection_details.username, 'vault_admin');
    assert.match(config.body.data.connection_details.connection_url, /sslmode=disable/);
    const creds = await bootstrapRequest(addr, 'GET', 'database/creds/ro', { token });
    assert.ok(creds.body.data.username);

    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited, 0, err);
    assert.doesNotMatch(err, /exited while in use/);
    assert.ok(!existsSync(dirname(keys)), 'the testbed removed its files');
    const gone = await bootstrapRequest(addr, 'GET', 'sys/health', { okStatuses: [200] }).then(
      () => false,
      () => true,
    );
    assert.ok(gone, 'the server is stopped');
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
});
