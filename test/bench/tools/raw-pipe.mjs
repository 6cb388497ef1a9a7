// The pipe's own limit: GET the Raft snapshot and stream the bytes straight into a multipart
// upload (same part size and parallelism as vault-ops' S3 store: 8 MiB x 2), with no inspection,
// no hashing of our own and no per-part checksum. Plain JavaScript (no loader start-up cost).
//   node raw-pipe.mjs BUCKET KEY   (VAULT_ADDR, VAULT_TOKEN, BENCH_S3_ENDPOINT, AWS_* credentials)
import { request } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const [bucket, key] = process.argv.slice(2);
const url = new URL('/v1/sys/storage/raft/snapshot', process.env.VAULT_ADDR);
const body = await new Promise((resolve, reject) => {
  const req = request(url, { headers: { 'X-Vault-Token': process.env.VAULT_TOKEN } }, resolve);
  req.once('error', reject);
  req.end();
});
if (body.statusCode !== 200) throw new Error(`GET snapshot answered ${body.statusCode}`);
const client = new S3Client({
  endpoint: process.env.BENCH_S3_ENDPOINT,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
await new Upload({
  client,
  params: { Bucket: bucket, Key: key, Body: body },
  partSize: 8 * 1024 * 1024,
  queueSize: 2,
}).done();
client.destroy();
