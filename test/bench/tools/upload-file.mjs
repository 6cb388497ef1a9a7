// Baseline upload, as the open-source snapshot agents do it: a finished snapshot FILE uploaded
// with @aws-sdk/lib-storage at its defaults (5 MiB parts, 4 in flight, the SDK's default
// checksum). Plain JavaScript so that no TypeScript loader adds start-up time to the timing.
//   node upload-file.mjs FILE BUCKET KEY   (BENCH_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)
import { createReadStream } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const [file, bucket, key] = process.argv.slice(2);
const client = new S3Client({
  endpoint: process.env.BENCH_S3_ENDPOINT,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
});
await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
client.destroy();
