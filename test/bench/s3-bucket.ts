import { DeleteObjectCommand, HeadObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { S3Testbed } from '../testbed/s3.js';

/** Bench buckets on the testbed's versitygw: emptied between runs so that the disk stays small. */
export class BenchBucket {
  private constructor(
    private readonly s3: S3Testbed,
    readonly name: string,
  ) {}

  static async create(s3: S3Testbed, name: string): Promise<BenchBucket> {
    await s3.createBucket(name);
    return new BenchBucket(s3, name);
  }

  async size(key: string): Promise<number> {
    const client = this.s3.client();
    const out = await client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
    return out.ContentLength ?? 0;
  }

  /** Delete every object under `prefix` except the keys `keep` accepts. */
  async empty(prefix = '', keep: (key: string) => boolean = () => false): Promise<void> {
    const client = this.s3.client();
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2({ client }, { Bucket: this.name, Prefix: prefix })) {
      for (const o of page.Contents ?? []) if (o.Key && !keep(o.Key)) keys.push(o.Key);
    }
    for (const Key of keys) await client.send(new DeleteObjectCommand({ Bucket: this.name, Key }));
  }
}
