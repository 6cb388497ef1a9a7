/**
 * Property test: whatever bytes arrive, the inspector settles — it resolves, or rejects with a
 * 'snapshot-corrupt' VaultOpsError — and never throws anything else, never emits 'error' on its
 * input and never hangs.
 *
 * Mutations come from a seeded PRNG. A failure prints the seed and the case; rerun it with
 *   SNAPSHOT_FUZZ_SEED=<seed> node --import tsx --test src/snapshot/archive-inspector.fuzz.test.ts
 * SNAPSHOT_FUZZ_CASES scales the number of cases per target (default 300).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { VaultOpsError } from '../../errors.js';
import { createArchiveInspector } from './archive-inspector.js';
import {
  buildSnapshotArchive,
  buildSnapshotTar,
  defaultRecords,
  encodeStateBin,
} from '../../../test/fixtures/snapshot-archive.js';
import { mulberry32 } from '../../../test/helpers/prng.js';

const baseSeed = Number(process.env.SNAPSHOT_FUZZ_SEED ?? 0x5eed_2026) >>> 0;
const casesPerTarget = Number(process.env.SNAPSHOT_FUZZ_CASES ?? 300);
const caseTimeoutMs = 5000;

type Rng = () => number;
const int = (rng: Rng, max: number) => Math.floor(rng() * max); // 0 .. max-1

/** Applies 1–3 random mutations; returns the result and a description to reproduce it by eye. */
function mutate(input: Buffer, rng: Rng): { bytes: Buffer; description: string[] } {
  let bytes = Buffer.from(input);
  const description: string[] = [];
  const count = 1 + int(rng, 3);
  for (let m = 0; m < count; m++) {
    const at = int(rng, bytes.length + 1);
    switch (int(rng, 7)) {
      case 0: {
        if (bytes.length === 0) break;
        const i = Math.min(at, bytes.length - 1);
        const x = 1 + int(rng, 255);
        bytes[i] = bytes[i]! ^ x;
        description.push(`xor byte ${i} with 0x${x.toString(16)}`);
        break;
      }
      case 1: {
        if (bytes.length === 0) break;
        const i = Math.min(at, bytes.length - 1);
        const bit = int(rng, 8);
        bytes[i] = bytes[i]! ^ (1 << bit);
        description.push(`flip bit ${bit} of byte ${i}`);
        break;
      }
      case 2:
        bytes = bytes.subarray(0, at);
        description.push(`truncate to ${at} bytes`);
        break;
      case 3: {
        const extra = Buffer.from(Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256)));
        bytes = Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
        description.push(`insert ${extra.length} random bytes at ${at}`);
        break;
      }
      case 4: {
        const length = 1 + int(rng, 64);
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)]);
        description.push(`delete ${length} bytes at ${at}`);
        break;
      }
      case 5: {
        const length = 1 + int(rng, 600);
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + length), bytes.subarray(at)]);
        description.push(`duplicate ${length} bytes at ${at}`);
        break;
      }
      case 6: {
        const length = 1 + int(rng, 32);
        const fill = rng() < 0.5 ? 0 : 0xff;
        bytes.fill(fill, at, Math.min(bytes.length, at + length));
        description.push(`fill ${length} bytes at ${at} with 0x${fill.toString(16)}`);
        break;
      }
    }
  }
  return { bytes, description };
}

type Outcome = 'resolved' | 'rejected';

/** Feeds `bytes` in random chunks; fails unless the inspector settles properly in time. */
async function runCase(bytes: Buffer, rng: Rng): Promise<Outcome> {
  const { input, result } = createArchiveInspector();
  const inputErrors: unknown[] = [];
  input.on('error', (err) => inputErrors.push(err));
  const finished = new Promise<void>((resolve) => input.on('finish', resolve));
  const maxChunk = rng() < 0.05 ? 1 : 1 + int(rng, 2048);
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + int(rng, maxChunk);
    input.write(bytes.subarray(i, i + size));
    i += size;
  }
  input.end();

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`inspector did not settle within ${caseTimeoutMs} ms`)), caseTimeoutMs);
  });
  try {
    const outcome = await Promise.race([
      result.then(
        (): Outcome => 'resolved',
        (err: unknown): Outcome => {
          if (!(err instanceof VaultOpsError))
            throw new Error(`rejected with a non-VaultOpsError: ${String((err as Error)?.stack ?? err)}`);
          if (err.code !== 'snapshot-corrupt') throw new Error(`rejected with code ${err.code}: ${err.message}`);
          if (err.message.includes('\n')) throw new Error(`multi-line message: ${err.message}`);
          return 'rejected';
        },
      ),
      timeout,
    ]);
    await Promise.race([finished, timeout]);
    if (inputErrors.length > 0) throw new Error(`input emitted 'error': ${String(inputErrors[0])}`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

async function fuzz(
  name: string,
  seedOffset: number,
  makeBytes: (rng: Rng) => { bytes: Buffer; description: string[] },
): Promise<Record<Outcome, number>> {
  const counts: Record<Outcome, number> = { resolved: 0, rejected: 0 };
  for (let i = 0; i < casesPerTarget; i++) {
    const seed = (baseSeed + seedOffset + i) >>> 0;
    const rng = mulberry32(seed);
    const { bytes, description } = makeBytes(rng);
    try {
      counts[await runCase(bytes, rng)]++;
    } catch (err) {
      assert.fail(
        `${name} case ${i} failed (SNAPSHOT_FUZZ_SEED=${baseSeed}, case seed ${seed}; ${description.join(', ')}): ` +
          `${(err as Error).message}`,
      );
    }
  }
  return counts;
}

describe(`archive inspector fuzzing (SNAPSHOT_FUZZ_SEED=${baseSeed})`, () => {
  const records = [...defaultRecords(), { key: 'logical/big', value: Buffer.alloc(3000, 9) }];
  const archives = [0, 6].map((level) => buildSnapshotArchive({ entries: records, gzipLevel: level }));
  const tar = buildSnapshotTar({ entries: records });
  const stateBin = encodeStateBin(records);

  it('mutated gzip archives settle properly', async (t) => {
    const counts = await fuzz('gzip', 0, (rng) => mutate(archives[int(rng, archives.length)]!, rng));
    t.diagnostic(`gzip mutations: ${JSON.stringify(counts)}`);
    assert.ok(counts.rejected > counts.resolved, 'most mutations of the compressed stream are detected');
  });

  it('mutated tar archives, re-gzipped, settle properly', async (t) => {
    const counts = await fuzz('tar', 1_000_000, (rng) => {
      const { bytes, description } = mutate(tar, rng);
      const level = rng() < 0.5 ? 0 : 6;
      return { bytes: gzipSync(bytes, { level }), description: [...description, `gzip level ${level}`] };
    });
    t.diagnostic(`tar mutations: ${JSON.stringify(counts)}`);
    assert.ok(counts.rejected > counts.resolved, 'most mutations of the tar stream are detected');
  });

  it('mutated state.bin with consistent sums and Size settles properly', async (t) => {
    const counts = await fuzz('state.bin', 2_000_000, (rng) => {
      const { bytes, description } = mutate(stateBin, rng);
      return {
        bytes: buildSnapshotArchive({ gzipLevel: 0, mutate: { stateBin: bytes } }),
        description: [`state.bin: ${description.join(', ')}`],
      };
    });
    t.diagnostic(`state.bin mutations: ${JSON.stringify(counts)}`);
  });

  it('random bytes and random gzip payloads settle properly', async () => {
    await fuzz('random', 3_000_000, (rng) => {
      const length = int(rng, 4096);
      const random = Buffer.from(Array.from({ length }, () => int(rng, 256)));
      return rng() < 0.5
        ? { bytes: random, description: [`${length} random bytes`] }
        : { bytes: gzipSync(random), description: [`gzip of ${length} random bytes`] };
    });
  });
});
