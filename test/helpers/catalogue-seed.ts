import { createHash, type KeyObject } from 'node:crypto';
import { mapInFlight } from '../../src/repository/in-flight.js';
import { archiveKey, drillKey, manifestKey } from '../../src/repository/layout.js';
import type { SnapshotManifest } from '../../src/repository/manifest.js';
import { signDrillRecord, signManifest } from '../../src/repository/signature.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { fakeDrillRecord, fakeManifest, idAt } from './manifest.js';

/**
 * A store of many signed snapshots with drill records, among forged objects (catalogue-scale.test and
 * catalogue-index.test): what the catalogue of such a store must say is known in advance.
 */
const HOUR = 3_600_000;
const sha = (body: string) => createHash('sha256').update(body).digest('hex');

/** What `snapshot list` must say of a real snapshot's drills: [last drill passed?, ever passed?]. */
export type Expected = { id: string; last: boolean | null; lastPassing: boolean };

export interface Seeded {
  /** Real snapshots, newest first, with their expected drill status. */
  real: Expected[];
  unsigned: string;
  future: string;
  timeAtOdds: string;
  twoArchives: string;
  /** The newest real snapshot without a passing drill, which an unsigned passing record claims verified. */
  forgedVerdict: string;
}

/** One more signed snapshot `time` with a passing drill record (for stores seeded already). */
export async function addSignedSnapshot(store: SnapshotStore, key: KeyObject, time: Date, n: number): Promise<string> {
  const id = idAt(time, n);
  const body = `archive ${id}`;
  const manifest = signManifest(
    fakeManifest({
      id,
      createdAt: time.toISOString(),
      archive: { key: archiveKey(store.prefix, id, { encrypted: false }), bytes: body.length, sha256: sha(body) },
      raft: { index: 100_000 + n, term: 1, configurationIndex: 1, servers: [] },
      cluster: { id: 'cluster-1', name: 'prod' },
    }),
    key,
  );
  await store.putBytes(archiveKey(store.prefix, id, { encrypted: false }), body);
  await store.putBytes(manifestKey(store.prefix, id), JSON.stringify(manifest));
  const at = new Date(time.getTime() + 60_000);
  await store.putBytes(
    drillKey(store.prefix, id, at),
    JSON.stringify(signDrillRecord(fakeDrillRecord(manifest, true, at), key)),
  );
  return id;
}

/**
 * `count` signed snapshots an hour apart (the newest an hour ago), with drills: none, one passing, one
 * failing, or passing then failing (still verified); and the forgeries of an uploader without the key.
 */
export async function seedCatalogue(store: SnapshotStore, key: KeyObject, count: number): Promise<Seeded> {
  const start = Date.now() - count * HOUR;
  const put = async (id: string, body: string, manifest: SnapshotManifest) => {
    await store.putBytes(archiveKey(store.prefix, id, { encrypted: false }), body);
    await store.putBytes(manifestKey(store.prefix, id), JSON.stringify(manifest));
  };
  const make = (time: Date, n: number, fields: Partial<SnapshotManifest> = {}) => {
    const id = idAt(time, n);
    const body = `archive ${id}`;
    const manifest = fakeManifest({
      id,
      createdAt: time.toISOString(),
      archive: { key: archiveKey(store.prefix, id, { encrypted: false }), bytes: body.length, sha256: sha(body) },
      raft: { index: 1000 + n, term: 1, configurationIndex: 1, servers: [] },
      cluster: { id: 'cluster-1', name: 'prod' },
      ...fields,
    });
    return { id, body, manifest };
  };
  const real = await mapInFlight(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i): Promise<Expected> => {
      const time = new Date(start + i * HOUR);
      const { id, body, manifest: unsigned } = make(time, i + 1);
      const manifest = signManifest(unsigned, key);
      await put(id, body, manifest);
      const record = async (passed: boolean, after: number) => {
        const at = new Date(time.getTime() + after * 60_000);
        await store.putBytes(
          drillKey(store.prefix, id, at),
          JSON.stringify(signDrillRecord(fakeDrillRecord(manifest, passed, at), key)),
        );
      };
      const kind = i % 4;
      if (kind === 1) await record(true, 5);
      if (kind === 2) await record(false, 5);
      if (kind === 3) {
        await record(true, 5);
        await record(false, 10);
      }
      return { id, last: kind === 0 ? null : kind === 1, lastPassing: kind === 1 || kind === 3 };
    },
  );
  real.reverse();
  // The newest snapshot without a passing drill gets an unsigned passing record: it must stay unverified.
  const forgedVerdict = real.find((r) => !r.lastPassing)!;
  const forgedAt = new Date(Date.now() - 60_000);
  await store.putBytes(
    drillKey(store.prefix, forgedVerdict.id, forgedAt),
    JSON.stringify({
      ...fakeDrillRecord({ id: forgedVerdict.id, archive: { sha256: '0'.repeat(64) } } as any, true, forgedAt),
    }),
  );
  // An unsigned manifest, the newest of all.
  const unsigned = make(new Date(Date.now() - 120_000), 0xf01);
  await put(unsigned.id, unsigned.body, unsigned.manifest);
  // Signed, but dated a day ahead, and one whose createdAt disagrees with its id (a key used carelessly).
  const future = make(new Date(Date.now() + 24 * HOUR), 0xf02);
  await put(future.id, future.body, signManifest(future.manifest, key));
  const odd = make(new Date(start - HOUR), 0xf03);
  await put(odd.id, odd.body, signManifest({ ...odd.manifest, createdAt: new Date(start).toISOString() }, key));
  // A second archive beside a real snapshot's (`.snap.age` next to `.snap`): that id becomes an anomaly.
  const twoArchives = real[count / 2]!;
  await store.putBytes(archiveKey(store.prefix, twoArchives.id, { encrypted: true }), 'not the real one');
  return {
    real: real.filter((r) => r !== twoArchives),
    unsigned: unsigned.id,
    future: future.id,
    timeAtOdds: odd.id,
    twoArchives: twoArchives.id,
    forgedVerdict: forgedVerdict.id,
  };
}
