import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { selectSnapshot } from '../../src/repository/catalogue.js';
import type { SnapshotManifest } from '../../src/repository/manifest.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import type { CatalogueTrust } from '../../src/repository/trust.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { startObjectStores } from '../helpers/object-stores.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { selectDrillTarget } from '../../src/verify/select-target.js';
import { idAt } from '../helpers/manifest.js';
import { seedCatalogue } from '../helpers/catalogue-seed.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * Issue "Off an end-of-life runtime, and a catalogue of 10,000 snapshots in seconds": the catalogue is
 * read with many requests in flight and single-snapshot commands read one snapshot's objects only.
 * Neither may change what the catalogue says: a store of a few hundred signed snapshots with drill
 * records, among forged objects, lists exactly as expected (order, drill status, what is set apart), and
 * reading one id applies every trust rule to it (signature, id time, future date, a second archive).
 */
let stores: Awaited<ReturnType<typeof startObjectStores>> | undefined;
let dir: string;
let key: { privateKey: KeyObject; publicKey: KeyObject };
let verifyKeyFile: string;
let trust: CatalogueTrust;

interface Target {
  name: string;
  url: string;
  env: Record<string, string>;
  open(): Promise<SnapshotStore>;
}
const targets: Target[] = [];

before(async () => {
  stores = await startObjectStores('scale');
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-catalogue-scale-'));
  key = generateKeyPairSync('ed25519');
  trust = { verifyKeys: [key.publicKey], now: () => new Date() };
  verifyKeyFile = join(dir, 'verify.pem');
  await writeFile(verifyKeyFile, key.publicKey.export({ type: 'spki', format: 'pem' }));
  const folder = `file://${join(dir, 'folder')}`;
  targets.push(
    { name: 'folder', url: folder, env: {}, open: () => openSnapshotStore(folder, { createFolder: true }, {}) },
    ...stores.targets,
  );
});
after(async () => {
  await stores?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const COUNT = 300;

/** The outcome of picking `which`: the manifest's id or the error's message. */
async function outcome(pick: () => SnapshotManifest | Promise<SnapshotManifest>): Promise<string> {
  try {
    return `picked ${(await pick()).id}`;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

test('a store of a few hundred snapshots lists exactly, drills and forgeries included, on every store', async () => {
  const seeded = await Promise.all(
    targets.map(async (t) => {
      const store = await t.open();
      try {
        return await seedCatalogue(store, key.privateKey, COUNT);
      } finally {
        await store.close();
      }
    }),
  );
  for (const [i, target] of targets.entries()) {
    const s = seeded[i]!;
    const r = await runCli(
      ['snapshot', 'list', '--from', target.url, '--verify-key', verifyKeyFile, '--output', 'json'],
      target.env,
    );
    assert.equal(r.code, 0, `${target.name}: ${r.stderr}`);
    const list = r.json();
    assert.deepEqual(
      list.snapshots.map((m: any) => m.id),
      s.real.map((e) => e.id),
      `${target.name}: the real snapshots, newest first, nothing else`,
    );
    assert.deepEqual(
      list.snapshots.map((m: any) => [m.id, m.lastDrill?.passed ?? null, m.lastPassingDrill !== null]),
      s.real.map((e) => [e.id, e.last, e.lastPassing]),
      `${target.name}: each snapshot's last drill and whether one passed (the forged record counts for nothing)`,
    );
    assert.deepEqual(
      list.untrusted.map((u: any) => u.id),
      [s.unsigned],
      target.name,
    );
    assert.deepEqual(
      list.anomalies.map((a: any) => [a.id, a.reason]),
      [
        [s.future, 'dated in the future'],
        [s.twoArchives, '2 archives for one snapshot id'],
        [s.timeAtOdds, list.anomalies.find((a: any) => a.id === s.timeAtOdds).reason],
      ].sort((a, b) => (a[0]! < b[0]! ? 1 : -1)),
      target.name,
    );
    assert.match(list.anomalies.find((a: any) => a.id === s.timeAtOdds).reason, /disagrees with the time in its id/);

    // At a terminal the rows come a window at a time, in the same table as a script gets at once.
    const text = await runCli(['snapshot', 'list', '--from', target.url, '--verify-key', verifyKeyFile], target.env);
    const tty = await runCli(['snapshot', 'list', '--from', target.url, '--verify-key', verifyKeyFile], target.env, {
      stdoutIsTTY: true,
    });
    assert.equal(tty.code, 0, `${target.name}: ${tty.stderr}`);
    assert.equal(tty.stdout, text.stdout, `${target.name}: the streamed table is the whole table`);
    assert.equal(text.stdout.split('\n').filter((l) => /^\d{8}T\d{6}Z-/.test(l)).length, s.real.length);

    // prune's plan sees the same catalogue: the set-apart ids are left alone.
    const prune = await runCli(
      ['snapshot', 'prune', '--from', target.url, '--keep-last', '24', '--dry-run', '--verify-key', verifyKeyFile],
      { ...target.env },
    );
    assert.equal(prune.code, 0, `${target.name}: ${prune.stderr}`);
  }
});

test('one snapshot read alone obeys every trust rule, as the whole catalogue does', async () => {
  for (const target of targets) {
    const store = await target.open();
    const repository = new SnapshotRepository(store, trust);
    try {
      const catalogue = await repository.catalogue();
      const ids = [
        ...catalogue.untrusted.map((u) => u.id),
        ...catalogue.anomalies.map((a) => a.id),
        ...catalogue.snapshots.slice(0, 5).map((m) => m.id),
        catalogue.snapshots.at(-1)!.id,
        idAt(new Date(Date.now() - 10 * HOUR), 0xabcdef), // not in the store
      ];
      assert.equal(ids.length, 1 + 3 + 5 + 1 + 1, target.name);
      for (const id of ids) {
        for (const allowAnomaly of [false, true]) {
          const whole = await outcome(() => selectSnapshot(catalogue, id, store, { allowAnomaly }));
          const alone = await outcome(() => repository.find(id, { allowAnomaly }));
          assert.equal(alone, whole, `${target.name}: ${id} (allowAnomaly ${allowAnomaly})`);
        }
      }
      // verify's selection: an exact forged id is refused; `unverified` passes over the forged verdict.
      const forged = catalogue.untrusted[0]!.id;
      await assert.rejects(selectDrillTarget(repository, forged, { newestVerified: false }), /is not trusted/);
      const unverified = await selectDrillTarget(repository, 'unverified', { newestVerified: true });
      const wholeList = await runCli(
        ['snapshot', 'list', '--from', target.url, '--unverified', '--verify-key', verifyKeyFile, '--output', 'json'],
        target.env,
      );
      assert.equal(unverified.manifest?.id, wholeList.json().snapshots[0].id, target.name);
      const verified = await repository.drillStatuses(catalogue, [unverified.manifest!.id]);
      assert.equal(verified.get(unverified.manifest!.id)?.lastPassingDrill ?? null, null, target.name);
      assert.ok(unverified.verifiedBefore && !(unverified.verifiedBefore instanceof Promise), target.name);

      // The CLI's single-snapshot path: inspect URL#ID refuses the forgeries before reading any archive.
      for (const [id, message] of [
        [forged, /is not trusted/],
        [catalogue.anomalies.find((a) => /future/.test(a.reason))!.id, /anomaly \(dated in the future\)/],
        [catalogue.anomalies.find((a) => /2 archives/.test(a.reason))!.id, /anomaly \(2 archives/],
      ] as const) {
        const r = await runCli(
          ['snapshot', 'inspect', `${target.url}#${id}`, '--verify-key', verifyKeyFile],
          target.env,
        );
        assert.equal(r.code, 3, `${target.name} ${id}: ${r.stderr}`);
        assert.match(r.stderr, message, `${target.name} ${id}`);
      }
    } finally {
      await store.close();
    }
  }
});
