import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.js';
import { repoRoot } from './bench-context.js';
import { LoadWatch, MiB, median, round, runChecked } from './measure.js';
import { SNAPSHOT_BUCKET, VAULT_OPS_PREFIX } from './snapshot.js';

/**
 * `verify`: the restore drill (`vault-ops verify`, recovery mode, scratch OpenBao from the same
 * binary) of the seeded testbed's snapshot, `runs` times; the median per phase from the drill's
 * own timings, and the wall time of the whole command.
 */
export async function verifyBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const { vault } = await ctx.seededVault();
  const s3 = await ctx.s3();
  const bucket = await ctx.bucket(SNAPSHOT_BUCKET);
  const cli = ctx.cli();
  const store = `s3://${bucket.name}/${VAULT_OPS_PREFIX}`;
  const s3Flags = ['--s3-endpoint', s3.endpoint, '--s3-force-path-style'];
  const env = ctx.cliEnv(vault, s3);
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-verify-'));
  try {
    // A snapshot to restore: the snapshot bench leaves its newest one; otherwise take one now.
    const listed = await runChecked(
      'vault-ops snapshot list',
      cli.command,
      [...cli.args, 'snapshot', 'list', '--from', store, ...s3Flags, '--output', 'json'],
      { env, cwd: repoRoot },
    );
    if ((JSON.parse(listed.stdout) as { snapshots: unknown[] }).snapshots.length === 0) {
      await runChecked(
        'vault-ops snapshot save',
        cli.command,
        [...cli.args, 'snapshot', 'save', '--to', store, ...s3Flags, '--output', 'json'],
        { env, cwd: repoRoot },
      );
    }
    const keys = join(work, 'unseal-keys');
    await writeFile(keys, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });

    const load = new LoadWatch();
    const phases = ['download', 'start', 'restore', 'unseal', 'checks', 'total'] as const;
    const timings: Record<(typeof phases)[number], number[]> = {
      download: [],
      start: [],
      restore: [],
      unseal: [],
      checks: [],
      total: [],
    };
    const wall: number[] = [];
    const rss: number[] = [];
    const rssTree: number[] = [];
    let snapshotId = '';
    let archiveBytes = 0;
    for (let run = 1; run <= ctx.options.runs; run++) {
      const r = await runChecked(
        'vault-ops verify',
        cli.command,
        [
          ...cli.args,
          'verify',
          '--from',
          store,
          ...s3Flags,
          '--snapshot',
          'latest',
          '--vault-binary',
          vault.binary,
          '--unseal-keys-file',
          keys,
          '--output',
          'json',
        ],
        {
          env: { ...env, TMPDIR: work },
          cwd: repoRoot,
        },
      );
      const report = JSON.parse(r.stdout) as { snapshotId: string; passed: boolean; timings: Record<string, number> };
      if (!report.passed) throw new Error(`bench: the drill failed: ${r.stdout}`);
      snapshotId = report.snapshotId;
      for (const p of phases) timings[p].push(report.timings[p] ?? Number.NaN);
      wall.push(r.seconds);
      rss.push(r.peakRssMb);
      rssTree.push(r.peakRssMbTree);
      process.stderr.write(
        `bench verify: run ${run}: ${r.seconds.toFixed(2)}s ${JSON.stringify(report.timings)}, load ${load.now()}\n`,
      );
    }
    const catalogue = await runChecked(
      'vault-ops snapshot list',
      cli.command,
      [...cli.args, 'snapshot', 'list', '--from', store, ...s3Flags, '--output', 'json'],
      { env, cwd: repoRoot },
    );
    const snapshots = (JSON.parse(catalogue.stdout) as { snapshots: Array<{ id: string; archive: { bytes: number } }> })
      .snapshots;
    archiveBytes = snapshots.find((s) => s.id === snapshotId)?.archive.bytes ?? 0;
    const medianPhases = Object.fromEntries(phases.map((p) => [p, round(median(timings[p]))]));
    return {
      bench: 'verify',
      sizeMb: archiveBytes ? round(archiveBytes / MiB, 1) : undefined,
      runs: ctx.options.runs,
      mode: 'recovery',
      medianSeconds: { wall: round(median(wall)), ...medianPhases },
      restoreMbPerSecond: archiveBytes
        ? round(archiveBytes / MiB / (medianPhases.restore ?? Number.NaN), 1)
        : undefined,
      peakRssMb: Math.max(...rss),
      /** The largest of vault-ops and the scratch server (ru_maxrss of the tree). */
      peakRssMbWithScratchServer: Math.max(...rssTree),
      samplesSeconds: { wall: wall.map((x) => round(x)), ...Object.fromEntries(phases.map((p) => [p, timings[p]])) },
      load: load.stop(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
