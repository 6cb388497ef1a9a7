import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeCatalogueIndex, INDEX_MIN_DOCUMENTS, type IndexEntry } from '../../src/repository/catalogue-index.js';
import type { Catalogue } from '../../src/repository/catalogue.js';
import { catalogueIndexKey, classifyKey } from '../../src/repository/layout.js';
import { keyId } from '../../src/repository/signature.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { UNSIGNED_STORE, type CatalogueTrust } from '../../src/repository/trust.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { addSignedSnapshot, seedCatalogue } from '../helpers/catalogue-seed.js';
import { startObjectStores, type StoreTarget } from '../helpers/object-stores.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * Issue #23, the catalogue index: one object that holds copies of the manifests and drill records, so a
 * catalogue is one listing and one read. It may only ever make the catalogue faster: whatever an uploader
 * writes there (an unsigned index, one signed by another key, garbage, a signed index whose copy is not
 * the stored object), and whatever changed in the store since it was written, the catalogue says exactly
 * what reading every object says. On the three object stores, which report each object's MD5 in listings.
 */
let stores: Awaited<ReturnType<typeof startObjectStores>> | undefined;
let targets: StoreTarget[] = [];
let dir: string;
let key: { privateKey: KeyObject; publicKey: KeyObject };
let verifyKeyFile: string;
let trust: CatalogueTrust;
const COUNT = 120;
const HOUR = 3_600_000;

before(async () => {
  stores = await startObjectStores('index');
  targets = stores.targets;
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-catalogue-index-'));
  key = generateKeyPairSync('ed25519');
  trust = { verifyKeys: [key.publicKey], now: () => new Date() };
  verifyKeyFile = join(dir, 'verify.pem');
  await writeFile(verifyKeyFile, key.publicKey.export({ type: 'spki', format: 'pem' }));
});
after(async () => {
  await stores?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The store, counting the objects read, and optionally without its index in listings (a reader without one). */
function instrumented(store: SnapshotStore, options: { hideIndex?: boolean } = {}) {
  const counter = { reads: 0 };
  const indexKey = catalogueIndexKey(store.prefix);
  const wrapped: SnapshotStore = Object.create(store, {
    getBytes: {
      value: (k: string, o?: { maxBytes?: number; signal?: AbortSignal }) => {
        counter.reads++;
        return store.getBytes(k, o);
      },
    },
    list: {
      value: async (o?: { under?: string; signal?: AbortSignal }) =>
        (await store.list(o)).filter((x) => !options.hideIndex || x.key !== indexKey),
    },
  });
  return { store: wrapped, counter };
}

/** Everything `snapshot list` and prune go by, drill statuses included. */
async function view(repository: SnapshotRepository, catalogue: Catalogue) {
  const statuses = await repository.drillStatuses(catalogue);
  return {
    snapshots: catalogue.snapshots.map((m) => [m.id, m.archive.sha256]),
    untrusted: catalogue.untrusted.map((u) => [u.id, u.reason, u.keys]),
    anomalies: catalogue.anomalies.map((a) => [a.id, a.reason, a.keys]),
    incomplete: catalogue.incomplete.map((i) => [i.key, i.reason]),
    drills: [...statuses].map(([id, s]) => [id, s.lastDrill?.key ?? null, s.lastPassingDrill?.key ?? null]),
  };
}

/** The catalogue with the index (and how many objects it read) beside the catalogue of a reader without it. */
async function compare(store: SnapshotStore, under: CatalogueTrust) {
  const withIndex = instrumented(store);
  const repository = new SnapshotRepository(withIndex.store, under);
  const catalogue = await repository.catalogue({ uploads: false });
  const got = await view(repository, catalogue);
  const bare = new SnapshotRepository(instrumented(store, { hideIndex: true }).store, under);
  const expected = await view(bare, await bare.catalogue({ uploads: false }));
  return { got, expected, reads: withIndex.counter.reads, index: catalogue.index ?? '' };
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

test('the catalogue index: one read instead of every manifest and drill record, and the same catalogue', async () => {
  for (const target of targets) {
    const store = await target.open();
    try {
      await seedCatalogue(store, key.privateKey, COUNT);
      // The listing reports each object's MD5: what binds a copy in the index to the stored object.
      const listed = await store.list();
      const documents = listed.filter((o) => ['manifest', 'drill'].includes(classifyKey(store.prefix, o.key).kind));
      assert.ok(documents.length >= INDEX_MIN_DOCUMENTS, target.name);
      for (const o of documents.slice(0, 5)) {
        assert.equal(o.contentMd5, md5(await store.getBytes(o.key)), `${target.name}: ${o.key}`);
      }
      const before = await runCli(
        ['snapshot', 'list', '--from', target.url, '--verify-key', verifyKeyFile, '--output', 'json'],
        target.env,
      );
      assert.equal(before.code, 0, `${target.name}: ${before.stderr}`);

      const repository = new SnapshotRepository(store, trust);
      assert.deepEqual(
        await repository.refreshIndex(),
        { state: 'skipped', reason: 'a signed store: no signing key to sign the index with', entries: 0, read: 0 },
        `${target.name}: a signed store's index is written only by a run that can sign it`,
      );
      const written = await repository.refreshIndex({ signingKey: key.privateKey });
      assert.deepEqual(written, { state: 'written', entries: documents.length, read: documents.length }, target.name);

      const first = await compare(store, trust);
      assert.deepEqual(first.got, first.expected, `${target.name}: the same catalogue`);
      assert.equal(first.reads, 1, `${target.name}: one read (the index), not ${documents.length}`);
      assert.equal(first.index, `used (${documents.length} current copies)`, target.name);
      const after = await runCli(
        ['snapshot', 'list', '--from', target.url, '--verify-key', verifyKeyFile, '--output', 'json'],
        target.env,
      );
      assert.equal(after.code, 0, `${target.name}: ${after.stderr}`);
      assert.deepEqual(after.json(), before.json(), `${target.name}: snapshot list says the same`);

      // A few new snapshots are read from the store; past 1 % (at least 16) the next writer rewrites it.
      const newest = Date.now() - HOUR / 2;
      await addSignedSnapshot(store, key.privateKey, new Date(newest), 0xa01);
      assert.equal((await repository.refreshIndex({ signingKey: key.privateKey })).state, 'fresh', target.name);
      const fewNew = await compare(store, trust);
      assert.deepEqual(fewNew.got, fewNew.expected, target.name);
      assert.equal(fewNew.reads, 1 + 2, `${target.name}: the index, then the new manifest and drill record`);
      for (let i = 0; i < 8; i++) {
        await addSignedSnapshot(store, key.privateKey, new Date(newest - (i + 1) * 60_000), 0xa10 + i);
      }
      const rewritten = await repository.refreshIndex({ signingKey: key.privateKey });
      assert.deepEqual(rewritten, { state: 'written', entries: documents.length + 18, read: 18 }, target.name);
    } finally {
      await store.close();
    }
  }
});

test('nothing an uploader writes as the index, nor any change in the store since, changes the catalogue', async () => {
  const other = generateKeyPairSync('ed25519');
  for (const target of targets) {
    const store = await target.open();
    const indexKey = catalogueIndexKey(store.prefix);
    const put = (body: Buffer | string) => store.putBytes(indexKey, body, { ifAbsent: false });
    const entries = async (): Promise<IndexEntry[]> => {
      const out: IndexEntry[] = [];
      for (const o of await store.list()) {
        const kind = classifyKey(store.prefix, o.key).kind;
        if (kind !== 'manifest' && kind !== 'drill') continue;
        out.push([o.key, o.contentMd5!, (await store.getBytes(o.key)).toString('utf8'), '']);
      }
      return out;
    };
    try {
      const real = await entries();
      const manifests = real.filter(([k]) => classifyKey(store.prefix, k).kind === 'manifest');
      const cases: Array<[string, Buffer | string, RegExp]> = [
        ['unsigned', encodeCatalogueIndex(real, new Date()), /^ignored: not signed$/],
        ['signed by another key', encodeCatalogueIndex(real, new Date(), other.privateKey), /^ignored: signed by key/],
        ['not an index', 'PK\u0003\u0004 not gzip', /^ignored: unreadable/],
        // Signed by the real key, vouching for every copy's signature by a key the reader does not trust:
        // each copy's own signature is checked instead, so the forgeries stay untrusted.
        [
          'vouching for another key',
          encodeCatalogueIndex(
            real.map(([k, m, b]) => [k, m, b, keyId(other.publicKey)] as IndexEntry),
            new Date(),
            key.privateKey,
          ),
          new RegExp(`^used \\(${real.length} current copies\\)$`),
        ],
        // Signed by the real key (a writer's bug, or a copy taken from another store): a copy whose bytes
        // are not the stored object's is not used, even though it claims the listed MD5.
        [
          'a copy that is another manifest',
          encodeCatalogueIndex(
            real.map(
              ([k, m, b, by]) => (k === manifests[0]![0] ? [k, m, manifests[1]![2], by] : [k, m, b, by]) as IndexEntry,
            ),
            new Date(),
            key.privateKey,
          ),
          new RegExp(`^used \\(${real.length - 1} current copies\\)$`),
        ],
      ];
      for (const [what, body, state] of cases) {
        await put(body);
        const r = await compare(store, trust);
        assert.match(r.index, state, `${target.name}: ${what}`);
        assert.deepEqual(r.got, r.expected, `${target.name}: ${what}`);
      }

      // The store changed after the index was written: an overwritten drill record and a deleted manifest.
      await store.delete(indexKey);
      await new SnapshotRepository(store, trust).refreshIndex({ signingKey: key.privateKey });
      const drill = real.find(([k]) => classifyKey(store.prefix, k).kind === 'drill')!;
      const record = JSON.parse(drill[2]);
      await store.putBytes(drill[0], JSON.stringify({ ...record, passed: !record.passed }), { ifAbsent: false });
      await store.delete(manifests[2]![0]);
      const changed = await compare(store, trust);
      assert.deepEqual(changed.got, changed.expected, `${target.name}: the store as it is now, not as indexed`);
      assert.equal(changed.reads, 1 + 1, `${target.name}: the index, then the overwritten drill record`);

      // An unsigned store takes an unsigned index, on the same terms (each copy bound to the listing).
      await put(encodeCatalogueIndex(real, new Date()));
      const unsigned = await compare(store, UNSIGNED_STORE);
      assert.deepEqual(unsigned.got, unsigned.expected, target.name);
      assert.match(unsigned.index, /^used /, target.name);
    } finally {
      await store.close();
    }
  }
});
