import { Option, type Command } from 'commander';

/** Flag groups several commands share (the store's S3 settings, retention, metrics). */
export const int = (v: string) => (/^\d+$/.test(v) ? Number(v) : Number.NaN);
export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addS3Options(cmd: Command): Command {
  return cmd
    .option('--s3-endpoint <url>', 'S3 endpoint (VAULT_OPS_S3_ENDPOINT, AWS_ENDPOINT_URL_S3)')
    .option('--s3-region <region>', 'S3 region (AWS_REGION)')
    .option('--s3-force-path-style', 'path-style S3 URLs (MinIO, versitygw, Ceph)')
    .addOption(new Option('--s3-sse <mode>', 'server-side encryption').choices(['AES256', 'aws:kms']))
    .option('--s3-kms-key-id <id>', 'KMS key for --s3-sse aws:kms')
    .option('--s3-storage-class <class>', 'storage class of stored objects')
    .addOption(new Option('--s3-object-lock-mode <mode>', 'object-lock retention mode').choices(['GOVERNANCE', 'COMPLIANCE']))
    .option('--s3-object-lock-days <n>', 'object-lock retention in days', int);
}

export function addKeepOptions(cmd: Command): Command {
  return cmd
    .option('--keep-last <n>', 'keep the n newest snapshots', int)
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours (UTC)', int)
    .option('--keep-daily <n>', 'keep one per day for the last n days', int)
    .option('--keep-weekly <n>', 'keep one per ISO week for the last n weeks', int)
    .option('--keep-monthly <n>', 'keep one per month for the last n months', int)
    .option('--keep-yearly <n>', 'keep one per year for the last n years', int)
    .option('--incomplete-grace-hours <n>', 'leave incomplete leftovers younger than this alone (default 24)', Number);
}

export function addMetricsOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-textfile <file>', 'write metrics for the node-exporter textfile collector')
    .option('--pushgateway <url>', 'push metrics to a Prometheus Pushgateway');
}


/** How every snapshot is protected (snapshot/protection.ts): the same flags wherever snapshots are taken. */
export function addSnapshotProtectionOptions(cmd: Command): Command {
  return cmd
    .option('--encrypt-to <recipient>', 'encrypt snapshots with age for this recipient (repeatable; VAULT_OPS_ENCRYPT_TO)', collect)
    .option('--recipients-file <file>', 'age recipients for snapshots, one per line (VAULT_OPS_RECIPIENTS_FILE)')
    .option('--signing-key <file>', 'ed25519 private key (PEM) to sign snapshot manifests (VAULT_OPS_SIGNING_KEY)');
}
