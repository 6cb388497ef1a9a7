import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';

let cluster: VaultTestbed;

before(async () => {
  cluster = await startVault({ nodes: 3 });
  console.log(`testbed: 3-node raft cluster of ${cluster.version}`);
});
after(async () => cluster?.stop());

test(onServer('status pointed at a standby reports the same leader and peers as pointed at the leader'), async () => {
  const leaderAddr = await cluster.leaderAddr();
  const standby = cluster.nodes.find((n) => n.addr !== leaderAddr)!;
  const env = { VAULT_TOKEN: cluster.rootToken };
  const fromLeader = await runCli(['status', '--output', 'json', '--vault-addr', leaderAddr], env);
  const fromStandby = await runCli(['status', '--output', 'json', '--vault-addr', standby.addr], env);
  assert.equal(fromLeader.code, 0, fromLeader.stderr);
  assert.equal(fromStandby.code, 0, fromStandby.stderr);
  const a = fromLeader.json();
  const b = fromStandby.json();
  assert.deepEqual(a.leader, { address: leaderAddr, isSelf: true });
  assert.deepEqual(b.leader, { address: leaderAddr, isSelf: false });
  assert.equal(a.peers.length, 3);
  const shape = (s: any) =>
    s.peers
      .map((p: any) => ({ nodeId: p.nodeId, leader: p.leader, voter: p.voter }))
      .sort((x: any, y: any) => x.nodeId.localeCompare(y.nodeId));
  assert.deepEqual(shape(b), shape(a));
  assert.equal(a.peers.filter((p: any) => p.leader).length, 1);
  assert.ok(a.peers.every((p: any) => p.voter));
  assert.equal(a.clusterId, b.clusterId);
});

test(onServer('snapshot save pointed at a standby succeeds by talking to the leader'), async () => {
  const leaderAddr = await cluster.leaderAddr();
  const standby = cluster.nodes.find((n) => n.addr !== leaderAddr)!;
  const folder = await mkdtemp(join(tmpdir(), 'vault-ops-standby-snap-'));
  try {
    const r = await runCli(['snapshot', 'save', '--to', folder, '--output', 'json', '--vault-addr', standby.addr], {
      VAULT_TOKEN: cluster.rootToken,
    });
    assert.equal(r.code, 0, r.stderr);
    const m = r.json();
    assert.equal(m.cluster.leader, leaderAddr);
    assert.equal(m.raft.servers.length, 3);
    const inspected = await runCli(['snapshot', 'inspect', join(folder, `${m.id}.snap`)]);
    assert.equal(inspected.code, 0, inspected.stderr);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test(
  onServer(
    'a snapshot of the 3-node cluster passes a recovery-mode drill; restore pointed at a standby goes to the leader',
  ),
  async () => {
    const leaderAddr = await cluster.leaderAddr();
    const standby = cluster.nodes.find((n) => n.addr !== leaderAddr)!;
    const folder = await mkdtemp(join(tmpdir(), 'vault-ops-cluster-drill-'));
    try {
      await seedSecrets(leaderAddr, cluster.rootToken, { count: 3, prefix: 'kept' });
      const saved = await runCli(['snapshot', 'save', '--to', folder, '--output', 'json'], {
        VAULT_ADDR: standby.addr,
        VAULT_TOKEN: cluster.rootToken,
      });
      assert.equal(saved.code, 0, saved.stderr);
      const keys = join(folder, '..', `${saved.json().id}.keys`);
      await writeFile(keys, cluster.unsealKeys.join('\n'), { mode: 0o600 });
      try {
        const drill = await runCli(
          [
            'verify',
            '--from',
            folder,
            '--unseal-keys-file',
            keys,
            '--vault-binary',
            cluster.binary,
            '--output',
            'json',
          ],
          {},
        );
        assert.equal(drill.code, 0, drill.stderr + drill.stdout);
        assert.equal(drill.json().passed, true);
      } finally {
        await rm(keys, { force: true });
      }
      await seedSecrets(leaderAddr, cluster.rootToken, { count: 3, prefix: 'lost' });
      const restored = await runCli(
        [
          'restore',
          '--from',
          folder,
          '--snapshot',
          saved.json().id,
          '--yes',
          '--no-safety-snapshot',
          '--output',
          'json',
        ],
        { VAULT_ADDR: standby.addr, VAULT_TOKEN: cluster.rootToken },
      );
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(restored.json().plan.target.leader, leaderAddr);
      assert.equal(restored.json().sealed, false);
      assert.equal(await readSecret(leaderAddr, cluster.rootToken, 'secret', 'kept/s0'), 'value-kept/s0');
      assert.equal(await readSecret(leaderAddr, cluster.rootToken, 'secret', 'lost/s0'), undefined);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
);

test(onServer('with the leader stopped, a standby reports the newly elected leader'), async () => {
  const oldLeader = await cluster.leaderAddr();
  const node = cluster.nodes.find((n) => n.addr === oldLeader)!;
  await node.kill();
  const survivor = cluster.nodes.find((n) => n.addr !== oldLeader)!;
  let status: any;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await runCli(['status', '--output', 'json', '--vault-addr', survivor.addr], {
      VAULT_TOKEN: cluster.rootToken,
    });
    if (r.code === 0) {
      status = r.json();
      if (status.leader && status.leader.address !== oldLeader) break;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.ok(status, 'status never succeeded after the leader stopped');
  assert.notEqual(status.leader.address, oldLeader);
  assert.equal(status.peers.length, 3);
});
