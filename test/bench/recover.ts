import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import type { BenchContext } from './bench-context.js';
import { repoRoot } from './bench-context.js';
import { LoadWatch, MiB, median, round, runChecked } from './measure.js';
import { SNAPSHOT_BUCKET, VAULT_OPS_PREFIX } from './snapshot.js';

/**
 * `recover`: one secret out of the seeded testbed's snapshot (`--size-mb`, 256 by default) into the live
 * cluster, `runs` times, side by side with the restore drill of the same snapshot. Recovery's phases
 * (download, restore, read, plan, write) from its own timings; the drill's total beside them. The issue's
 * bar: a recovery within the drill's time plus 2 s (`withinDrillPlus2s`).
 */
export async function recoverBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { vault } = await ctx.seededVault();
  const s3 = await ctx.s3();
  const bucket = await ctx.bucket(SNAPSHOT_BUCKET);
  const cli = ctx.cli();
  const store = `s3://${bucket.name}/${VAULT_OPS_PREFIX}`;
  const s3Flags = ['--s3-endpoint', s3.endpoint, '--s3-force-path-style'];
  const env = ctx.cliEnv(vault, s3);
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-recover-'));
  const secret = 'secret/bench/blob-0';
  try {
    const saved = await runChecked(
      'vault-ops snapshot save',
      cli.command,
      [...cli.args, 'snapshot', 'save', '--to', store, ...s3Flags, '--output', 'json'],
      { env, cwd: repoRoot },
    );
    const { id: snapshotId, archive } = JSON.parse(saved.stdout) as { id: string; archive: { bytes: number } };
    const keys = join(work, 'unseal-keys');
    await writeFile(keys, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
    const common = ['--from', store, ...s3Flags, '--snapshot', snapshotId, '--vault-binary', vault.binary];
    const load = new LoadWatch();
    const phases = ['download', 'restore', 'read', 'plan', 'write'] as const;
    const timings: Record<string, number[]> = Object.fromEntries(phases.map((p) => [p, []]));
    const recoverWall: number[] = [];
    const drillTotal: number[] = [];
    for (let run = 1; run <= ctx.options.runs; run++) {
      const drill = await runChecked(
        'vault-ops verify',
        cli.command,
        [...cli.args, 'verify', ...common, '--unseal-keys-file', keys, '--output', 'json'],
        { env: { ...env, TMPDIR: work }, cwd: repoRoot },
      );
      drillTotal.push((JSON.parse(drill.stdout) as { timings: { total: number } }).timings.total);
      // The mistake: the secret is overwritten after the snapshot.
      await bootstrapRequest(vault.addr, 'POST', 'secret/data/bench/blob-0', {
        token: vault.rootToken,
        body: { data: { value: `overwritten-${run}` } },
      });
      const r = await runChecked(
        'vault-ops recover',
        cli.command,
        [...cli.args, 'recover', ...common, '--path', secret, '--unseal-keys-file', keys, '--yes', '--output', 'json'],
        { env: { ...env, TMPDIR: work }, cwd: repoRoot },
      );
      const result = JSON.parse(r.stdout) as { timings: Record<string, number>; items: Array<{ written: boolean }> };
      if (!result.items[0]?.written) throw new Error(`bench: the recovery wrote nothing: ${r.stdout}`);
      for (const p of phases) timings[p]!.push(result.timings[p] ?? Number.NaN);
      recoverWall.push(r.seconds);
      process.stderr.write(
        `bench recover: run ${run}: recover ${r.seconds.toFixed(2)}s ${JSON.stringify(result.timings)}, drill ` +
          `${drillTotal.at(-1)}s, load ${load.now()}\n`,
      );
    }
    const recoverTotal = round(
      median(recoverWall.map((_, i) => phases.reduce((sum, p) => sum + (timings[p]![i] ?? 0), 0))),
    );
    const drill = round(median(drillTotal));
    return {
      bench: 'recover',
      sizeMb: round(archive.bytes / MiB, 1),
      runs: ctx.options.runs,
      medianSeconds: {
        wall: round(median(recoverWall)),
        total: recoverTotal,
        ...Object.fromEntries(phases.map((p) => [p, round(median(timings[p]!))])),
        drillTotal: drill,
      },
      withinDrillPlus2s: recoverTotal <= drill + 2,
      samplesSeconds: { recoverWall: recoverWall.map((x) => round(x)), drillTotal, ...timings },
      load: load.stop(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
