import { z } from 'zod';
import { corrupt } from './corrupt.js';

/** A snapshot's meta.json (raft.SnapshotMeta), in vault-ops' names. */
export interface SnapshotMeta {
  version: number;
  id: string;
  index: number;
  term: number;
  configurationIndex: number;
  /** Byte length of state.bin. */
  size: number;
  servers: Array<{ id: string; address: string; suffrage: 'voter' | 'nonvoter' | 'staging' | string }>;
}

export const DEFAULT_MAX_META_BYTES = 1024 * 1024;

const count = z.number().int().nonnegative();

/**
 * raft.SnapshotMeta as encoding/json writes it: Go field names, uint64s as JSON numbers (we
 * accept only those that are exact in a double), Suffrage as a number (raft.ServerSuffrage), nil
 * slices as null. Peers (legacy, base64) and unknown fields are ignored.
 */
const metaSchema = z.object({
  Version: z.number().int(),
  ID: z.string(),
  Index: count,
  Term: count,
  Configuration: z.object({
    Servers: z
      .array(
        z.object({
          Suffrage: count,
          ID: z.string(),
          Address: z.string(),
        }),
      )
      .nullable(),
  }),
  ConfigurationIndex: count,
  Size: count,
});

const expectation: Record<string, string> = {
  Version: 'an integer',
  ID: 'a string',
  Address: 'a string',
  Index: 'a non-negative integer',
  Term: 'a non-negative integer',
  ConfigurationIndex: 'a non-negative integer',
  Size: 'a non-negative integer',
  Suffrage: 'a non-negative integer',
  Configuration: 'an object',
  Servers: 'an array or null',
};

const suffrages: Record<number, string> = { 0: 'voter', 1: 'nonvoter', 2: 'staging' };

/** raft.ServerSuffrage → name; an unknown value is kept visible as "unknown(N)". */
export function suffrageName(value: number): string {
  return suffrages[value] ?? `unknown(${value})`;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Validates meta.json's bytes (at most the caller's size limit) and maps them to SnapshotMeta. */
export function parseSnapshotMeta(bytes: Uint8Array): SnapshotMeta {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // The SyntaxError's message quotes the input, so it is not passed on.
    throw corrupt('meta.json is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt('meta.json is not a JSON object');
  const parsed = metaSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = fieldPath(issue.path);
    const last = [...issue.path].reverse().find((p) => typeof p === 'string');
    if (issue.code === 'invalid_type' && issue.input === undefined) throw corrupt(`meta.json is missing field ${path}`);
    throw corrupt(`meta.json field ${path} is not ${expectation[String(last)] ?? 'valid'}`);
  }
  const meta = parsed.data;
  return {
    version: meta.Version,
    id: meta.ID,
    index: meta.Index,
    term: meta.Term,
    configurationIndex: meta.ConfigurationIndex,
    size: meta.Size,
    servers: (meta.Configuration.Servers ?? []).map((s) => ({
      id: s.ID,
      address: s.Address,
      suffrage: suffrageName(s.Suffrage),
    })),
  };
}
