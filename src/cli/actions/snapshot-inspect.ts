import { SnapshotInspectOptionsSchema, snapshotInspectOptionSources } from '../../options/snapshot.js';
import { readIdentities } from '../../snapshot/age-encryption.js';
import { fileTarget, inspectSnapshot, storeTarget, type InspectReport } from '../../snapshot/inspect-snapshot.js';
import { readVerifyKey } from '../../repository/signature.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { formatBytes, printJson, printLines, table } from '../output.js';

/** `snapshot inspect FILE|URL#ID`: the offline integrity check. */
export async function runSnapshotInspect(
  ctx: CommandContext,
  targetArg: string,
  flags: Record<string, unknown>,
): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotInspectOptionsSchema, snapshotInspectOptionSources, flags);
  const identities = o.identityFile ? await readIdentities(o.identityFile) : undefined;
  identities?.forEach((i) => ctx.secrets.add(i));
  const verifyKeys = await Promise.all(o.verifyKey.map((path) => readVerifyKey(path)));
  const hash = targetArg.lastIndexOf('#');
  // Any `scheme://…#ID` names a store (parseStoreUrl says which schemes exist); a plain path is a file.
  const isStoreRef = hash > 0 && /^[a-z][a-z0-9+.-]*:\/\//i.test(targetArg);
  const store = isStoreRef ? await openCommandStore(ctx, targetArg.slice(0, hash), o) : undefined;
  try {
    const target = store
      ? await storeTarget(store, targetArg.slice(hash + 1) || 'latest')
      : await fileTarget(targetArg);
    const report = await inspectSnapshot(target, {
      depth: o.depth,
      ...(identities ? { identities } : {}),
      verifyKeys,
    });
    if (ctx.options.output === 'json') printJson(ctx.stdout, report);
    else printLines(ctx.stdout, renderInspect(report));
  } finally {
    await store?.close();
  }
}

function renderInspect(r: InspectReport): string[] {
  const lines = [`${r.source}: OK${r.contentsChecked ? '' : ' (partially checked)'}`];
  lines.push(
    ...table([
      ['  id', r.id ?? '-'],
      ['  bytes', `${r.bytes} (${formatBytes(r.bytes)})`],
      ['  sha256', r.sha256],
      ['  encrypted', r.encrypted ? 'yes (age)' : 'no'],
      ...(r.manifest ? [['  manifest', `sha256 and size match; signature ${r.manifest.signature}`]] : []),
      ...(r.meta
        ? [
            [
              '  raft',
              `index ${r.meta.index}, term ${r.meta.term}, snapshot version ${r.meta.version}, state ${r.meta.size} ` +
                `bytes, ${r.entryCount} keys`,
            ],
          ]
        : []),
    ]),
  );
  if (r.keyCounts) {
    lines.push('', '  Key counts by prefix:');
    const rows = Object.entries(r.keyCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [`    ${k}`, String(v)]);
    lines.push(...table(rows));
  }
  for (const n of r.notChecked) lines.push(`  not checked: ${n}`);
  return lines;
}
