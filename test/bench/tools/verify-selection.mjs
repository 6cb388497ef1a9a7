// verify's selection alone, as `vault-ops verify --snapshot WHICH` makes it before any drill: the
// built modules (BENCH_DIST, default ../../../dist) open the store and pick the snapshot. A build
// without `selectDrillTarget` (before the catalogue work) is driven as its runDrill did it: the whole
// catalogue, then every drill record. The newest-verified metric, which an exact id reads beside its
// drill only when metrics are reported, is left out. Prints the picked id.
//   node verify-selection.mjs URL WHICH VERIFY_KEY_FILE   (the store's environment, as the CLI's)
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [url, which, keyFile] = process.argv.slice(2);
const dist = resolve(process.env.BENCH_DIST ?? join(import.meta.dirname, '../../../dist'));
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const { openSnapshotStore } = await load('store/open-store.js');
const { SnapshotRepository } = await load('repository/snapshot-repository.js');
const drill = await load('verify/select-target.js');
const env = process.env;
const options = {
  ...(env.VAULT_OPS_S3_ENDPOINT ? { s3Endpoint: env.VAULT_OPS_S3_ENDPOINT, s3ForcePathStyle: true } : {}),
  ...(env.VAULT_OPS_AZURE_ENDPOINT ? { azureEndpoint: env.VAULT_OPS_AZURE_ENDPOINT } : {}),
};
const store = await openSnapshotStore(url, options, env);
const trust = { verifyKeys: [createPublicKey(readFileSync(keyFile))], now: () => new Date() };
const repository = new SnapshotRepository(store, trust);
let picked;
if (drill.selectDrillTarget) {
  const target = await drill.selectDrillTarget(repository, which, { newestVerified: false });
  picked = target.manifest?.id ?? 'all verified';
} else {
  const { newestUnverified, newestVerified } = await load('repository/drill-history.js');
  const catalogue = await repository.catalogue();
  const history = await repository.drillHistory(catalogue);
  newestVerified(catalogue.snapshots, history);
  picked =
    which === 'unverified'
      ? newestUnverified(catalogue.snapshots, history)?.id
      : repository.select(catalogue, which, { allowAnomaly: true }).id;
}
await store.close();
process.stdout.write(`${picked}\n`);
