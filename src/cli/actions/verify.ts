import { readSecretLines } from '../../io/option-file.js';
import { VerifyOptionsSchema, checkUnsealedModeRequest, verifyOptionSources } from '../../options/verify.js';
import { VaultOpsError } from '../../errors.js';
import { readSigningKey } from '../../repository/signature.js';
import { toolVersion } from '../../version.js';
import { runDrill, type DrillOutcome, type DrillReport } from '../../verify/drill.js';
import { openCommandStore } from '../command-store.js';
import { readScratchInputs } from '../scratch-inputs.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/** `verify`: the restore drill of one stored snapshot in a scratch server. */
export async function runVerify(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, VerifyOptionsSchema, verifyOptionSources, flags);
  const refused = checkUnsealedModeRequest(o, flags, ctx.env);
  if (refused) throw new VaultOpsError('config', refused);
  const { unsealKeys, identities, seal } = await readScratchInputs(ctx, o);
  const signingKey = o.signingKey ? await readSigningKey(o.signingKey) : undefined;
  const verifyToken = o.verifyTokenFile
    ? (await readSecretLines(o.verifyTokenFile, 'verify token', '--verify-token-file', (v) => ctx.secrets.add(v)))[0]
    : undefined;
  const store = await openCommandStore(ctx, o.from, o, 'read', signingKey);
  const metrics = await jobMetrics(
    o,
    async () => new (await import('../../verify/verify-metrics.js')).VerifyMetrics(store.url),
  );
  const interrupt = abortOnSignals();
  let outcome: DrillOutcome;
  try {
    outcome = await runDrill(
      {
        repository: store,
        logger: ctx.logger,
        secrets: ctx.secrets,
        signal: interrupt.signal,
        toolVersion,
        ...(metrics ? { reporter: metrics } : {}),
      },
      {
        snapshot: o.snapshot,
        mode: o.mode,
        ...(o.vaultBinary ? { binary: o.vaultBinary } : {}),
        ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
        unsealKeys,
        ...(identities ? { identities } : {}),
        ...(verifyToken ? { verifyToken } : {}),
        checkSecrets: o.checkSecret,
        ...(o.scratchPort ? { scratchPort: o.scratchPort } : {}),
        ...(seal ?? {}),
        restoreTimeoutMs: o.restoreTimeoutSeconds * 1000,
      },
    );
    if (outcome.kind !== 'all-verified' && outcome.recordKey) {
      await store.refreshIndexAfterWrite(ctx.logger, { signal: interrupt.signal });
    }
  } finally {
    interrupt.dispose();
    await store.close();
    await publishJobMetrics(metrics, o, ctx.logger);
  }
  if (outcome.kind === 'all-verified') {
    // A scheduled `--snapshot unverified` with nothing left to prove: success, nothing to do.
    if (ctx.options.output === 'json')
      printJson(ctx.stdout, {
        allVerified: true,
        snapshots: outcome.snapshots,
        newestVerified: outcome.newestVerified,
        record: null,
      });
    else
      printLines(ctx.stdout, [
        `Every snapshot in ${store.url} has a passing restore drill (${outcome.snapshots} snapshots): nothing to ` +
          'drill',
      ]);
    return;
  }
  const { report, recordKey, recordError } = outcome;
  if (recordError !== undefined) {
    // The drill counts all the same (exit code by its result); only the catalogue misses it.
    ctx.terminal.stderr.write(
      `${ctx.secrets.scrub(
        `warning: the result of this drill was not recorded in ${store.url} (${recordError.replace(/\s+/g, ' ')}); ` +
          "'snapshot list' will not show it: give verify's credentials write access to record drills",
      )}\n`,
    );
  }
  if (ctx.options.output === 'json') printJson(ctx.stdout, { ...report, record: recordKey });
  else printLines(ctx.stdout, renderReport(report, recordKey));
  if (!report.passed) {
    const failed = report.checks.filter((c) => !c.passed);
    throw new VaultOpsError(
      'verification',
      `restore drill of ${report.snapshotId} failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
    );
  }
  ctx.logger.info({ snapshotId: report.snapshotId, totalSeconds: report.timings.total }, 'restore drill passed');
}

function renderReport(r: DrillReport, recordKey: string | null): string[] {
  const lines = [`Restore drill of ${r.snapshotId} (${r.mode} mode): ${r.passed ? 'PASSED' : 'FAILED'}`];
  lines.push(...table(r.checks.map((c) => [`  ${c.passed ? 'ok  ' : 'FAIL'}`, c.name, c.detail])));
  const t = r.timings;
  lines.push(
    `  timings: download ${t.download}s, start ${t.start}s, restore ${t.restore}s, unseal ${t.unseal}s, checks ` +
      `${t.checks}s, total ${t.total}s`,
  );
  if (recordKey) lines.push(`  recorded: ${recordKey}`);
  return lines;
}
