import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

/** S3 settings shared by every command that opens a store (flags, env, config file). */
export const s3Options = [
  {
    key: 's3Endpoint',
    example: 'https://s3.eu-west-1.amazonaws.com',
    flag: '--s3-endpoint <url>',
    help: 'S3 endpoint (VAULT_OPS_S3_ENDPOINT, AWS_ENDPOINT_URL_S3)',
    env: ['VAULT_OPS_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    type: z.url().optional(),
  },
  {
    key: 's3Region',
    flag: '--s3-region <region>',
    help: 'S3 region (AWS_REGION)',
    env: ['VAULT_OPS_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
    type: z.string().min(1).optional(),
  },
  {
    key: 's3ForcePathStyle',
    flag: '--s3-force-path-style',
    help: 'path-style S3 URLs (MinIO, versitygw, Ceph)',
    env: ['VAULT_OPS_S3_FORCE_PATH_STYLE'],
    type: z.boolean().default(false),
  },
  {
    key: 's3Sse',
    flag: '--s3-sse <mode>',
    help: 'server-side encryption',
    env: ['VAULT_OPS_S3_SSE'],
    choices: ['AES256', 'aws:kms'],
    type: z.enum(['AES256', 'aws:kms']).optional(),
  },
  {
    key: 's3KmsKeyId',
    flag: '--s3-kms-key-id <id>',
    help: 'KMS key for --s3-sse aws:kms',
    env: ['VAULT_OPS_S3_KMS_KEY_ID'],
    type: z.string().min(1).optional(),
  },
  {
    key: 's3StorageClass',
    flag: '--s3-storage-class <class>',
    help: 'storage class of stored objects',
    env: ['VAULT_OPS_S3_STORAGE_CLASS'],
    type: z.string().min(1).optional(),
  },
  {
    key: 's3ObjectLockMode',
    flag: '--s3-object-lock-mode <mode>',
    help: 'object-lock retention mode',
    env: ['VAULT_OPS_S3_OBJECT_LOCK_MODE'],
    choices: ['GOVERNANCE', 'COMPLIANCE'],
    type: z.enum(['GOVERNANCE', 'COMPLIANCE']).optional(),
  },
  {
    key: 's3ObjectLockDays',
    flag: '--s3-object-lock-days <n>',
    help: 'object-lock retention in days',
    env: ['VAULT_OPS_S3_OBJECT_LOCK_DAYS'],
    parse: 'int',
    type: z.number().int().positive().max(36500).optional(),
  },
] as const satisfies readonly OptionSpec[];

export const S3OptionsSchema = schemaOf(s3Options).superRefine((o, ctx) => {
  if (o.s3KmsKeyId && o.s3Sse !== 'aws:kms')
    ctx.addIssue({ code: 'custom', path: ['s3KmsKeyId'], message: 'needs --s3-sse aws:kms' });
  if (!!o.s3ObjectLockMode !== !!o.s3ObjectLockDays) {
    ctx.addIssue({
      code: 'custom',
      path: [o.s3ObjectLockMode ? 's3ObjectLockDays' : 's3ObjectLockMode'],
      message: '--s3-object-lock-mode and --s3-object-lock-days go together',
    });
  }
});
export type S3Options = z.output<typeof S3OptionsSchema>;

export const s3OptionSources = sourcesOf(s3Options);
