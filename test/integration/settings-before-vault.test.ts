import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

/**
 * Each command resolves all its settings in one step before any network call (#24): given a bad store
 * option and a Vault that must not be asked anything (an address whose listener only counts
 * connections, a token that would not work), every command reports the store option, and the Vault
 * address is never connected to.
 */

let dir: string;
let vault: Server;
let connections = 0;
let vaultAddr: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-settings-'));
  vault = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
  const address = vault.address();
  if (!address || typeof address === 'string') throw new Error('no listener address');
  vaultAddr = `http://127.0.0.1:${address.port}`;
  await writeFile(join(dir, 'keys.txt'), 'not-a-key\n', { mode: 0o600 });
  await writeFile(
    join(dir, 'policy.yaml'),
    'secrets:\n  - mount: secret\n    path: app/db\n    every: 30d\n    keys:\n      password: {}\n',
  );
});
after(async () => {
  await new Promise((resolve) => vault?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const store = () => join(dir, 'store');
const commands: Array<[string, () => string[]]> = [
  ['snapshot save', () => ['snapshot', 'save', '--to', store()]],
  ['snapshot copy', () => ['snapshot', 'copy', '--from', store(), '--to', join(dir, 'dr')]],
  ['snapshot list', () => ['snapshot', 'list', '--from', store()]],
  ['snapshot prune', () => ['snapshot', 'prune', '--from', store(), '--keep-last', '3']],
  ['snapshot inspect', () => ['snapshot', 'inspect', `${store()}#latest`]],
  ['verify', () => ['verify', '--from', store(), '--unseal-keys-file', join(dir, 'keys.txt')]],
  ['restore', () => ['restore', '--from', store(), '--snapshot', '20261207T120000Z-abcdef', '--yes']],
  ['report', () => ['report', '--from', store(), '--out', join(dir, 'report.html')]],
  ['rotate kv', () => ['rotate', 'kv', '--policy', join(dir, 'policy.yaml'), '--record-to', store()]],
  [
    'runbook rotate-root',
    () => ['runbook', 'rotate-root', '--mount', 'database', '--connection', 'pg', '--snapshot-store', store()],
  ],
];

for (const [name, args] of commands) {
  test(`${name}: a bad store option is reported before Vault is contacted`, async () => {
    const before = connections;
    const r = await runCli(args(), {
      VAULT_ADDR: vaultAddr,
      VAULT_TOKEN: 'hvs.not-a-working-token',
      VAULT_OPS_S3_SSE: 'nonsense',
    });
    assert.notEqual(r.code, 0, r.all);
    assert.match(r.stderr, /^error: .*--s3-sse/m, r.all);
    assert.equal(connections, before, `${name} contacted Vault before it reported the store option`);
  });
}
