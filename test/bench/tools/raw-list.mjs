// The listing's own limit: every key under a prefix, through the same SDK vault-ops uses for the
// store, page after page, nothing read, nothing parsed. Prints the number of keys. Plain JavaScript.
//   node raw-list.mjs s3 BUCKET PREFIX      (VAULT_OPS_S3_ENDPOINT, AWS_* credentials)
//   node raw-list.mjs azure CONTAINER PREFIX (VAULT_OPS_AZURE_ENDPOINT, AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY)
//   node raw-list.mjs gcs BUCKET PREFIX     (VAULT_OPS_GCS_ENDPOINT)
const [kind, bucket, prefix] = process.argv.slice(2);
let count = 0;
if (kind === 's3') {
  const { S3Client, paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: process.env.VAULT_OPS_S3_ENDPOINT,
    region: process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
  });
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    count += page.Contents?.length ?? 0;
  }
  client.destroy();
} else if (kind === 'azure') {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  const credential = new StorageSharedKeyCredential(process.env.AZURE_STORAGE_ACCOUNT, process.env.AZURE_STORAGE_KEY);
  const container = new BlobServiceClient(process.env.VAULT_OPS_AZURE_ENDPOINT, credential).getContainerClient(bucket);
  for await (const _ of container.listBlobsFlat({ prefix })) count++;
} else if (kind === 'gcs') {
  const { Storage } = await import('@google-cloud/storage');
  const storage = new Storage({ apiEndpoint: process.env.VAULT_OPS_GCS_ENDPOINT, projectId: 'bench' });
  const [files] = await storage.bucket(bucket).getFiles({ prefix, autoPaginate: true });
  count = files.length;
} else {
  throw new Error(`raw-list: unknown store kind ${kind}`);
}
process.stdout.write(`${count}\n`);
