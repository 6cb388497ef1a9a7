import protobuf from 'protobufjs';

/**
 * KV v2's storage records (vault-plugin-secrets-kv types.proto; OpenBao's builtin kv has the same field
 * numbers for what is read here, and adds fields of its own, which the decoder skips). Decoded with
 * protobufjs from this schema. The `versions` map is declared as what a map is on the wire (a repeated
 * entry message with key 1 and value 2): protobufjs turns 64-bit map keys into opaque hash strings.
 */
const root = protobuf.Root.fromJSON({
  nested: {
    kv: {
      nested: {
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
        VersionMetadata: {
          fields: {
            created_time: { type: 'Timestamp', id: 1 },
            deletion_time: { type: 'Timestamp', id: 2 },
            destroyed: { type: 'bool', id: 3 },
          },
        },
        VersionEntry: { fields: { key: { type: 'uint64', id: 1 }, value: { type: 'VersionMetadata', id: 2 } } },
        KeyMetadata: {
          fields: {
            key: { type: 'string', id: 1 },
            versions: { rule: 'repeated', type: 'VersionEntry', id: 2 },
            current_version: { type: 'uint64', id: 3 },
            oldest_version: { type: 'uint64', id: 4 },
            created_time: { type: 'Timestamp', id: 5 },
            updated_time: { type: 'Timestamp', id: 6 },
            max_versions: { type: 'uint32', id: 7 },
            cas_required: { type: 'bool', id: 8 },
            custom_metadata: { keyType: 'string', type: 'string', id: 10 } as protobuf.IField,
          },
        },
        Version: {
          fields: {
            data: { type: 'bytes', id: 1 },
            created_time: { type: 'Timestamp', id: 2 },
            deletion_time: { type: 'Timestamp', id: 3 },
          },
        },
      },
    },
  },
});
const KeyMetadataType = root.lookupType('kv.KeyMetadata');
const VersionType = root.lookupType('kv.Version');
const asObject = { longs: Number, bytes: Buffer, defaults: true, arrays: true, objects: true } as const;

interface RawTimestamp {
  seconds?: number;
  nanos?: number;
}

const toDate = (t: RawTimestamp | null | undefined): Date | undefined =>
  t && (t.seconds || t.nanos) ? new Date((t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)) : undefined;

export interface Kv2VersionMetadata {
  version: number;
  createdTime: Date | undefined;
  deletionTime: Date | undefined;
  destroyed: boolean;
}

export interface Kv2KeyMetadata {
  key: string;
  currentVersion: number;
  oldestVersion: number;
  createdTime: Date | undefined;
  updatedTime: Date | undefined;
  versions: Kv2VersionMetadata[];
  customMetadata: Record<string, string>;
}

export function decodeKeyMetadata(bytes: Uint8Array): Kv2KeyMetadata {
  const m = KeyMetadataType.toObject(KeyMetadataType.decode(bytes), asObject) as {
    key: string;
    current_version: number;
    oldest_version: number;
    created_time?: RawTimestamp;
    updated_time?: RawTimestamp;
    versions: Array<{
      key: number;
      value?: { created_time?: RawTimestamp; deletion_time?: RawTimestamp; destroyed: boolean };
    }>;
    custom_metadata: Record<string, string>;
  };
  return {
    key: m.key,
    currentVersion: m.current_version,
    oldestVersion: m.oldest_version,
    createdTime: toDate(m.created_time),
    updatedTime: toDate(m.updated_time),
    versions: m.versions
      .map((v) => ({
        version: v.key,
        createdTime: toDate(v.value?.created_time),
        deletionTime: toDate(v.value?.deletion_time),
        destroyed: v.value?.destroyed ?? false,
      }))
      .sort((a, b) => a.version - b.version),
    customMetadata: { ...m.custom_metadata },
  };
}

export interface Kv2Version {
  /** The JSON object the version holds (the secret's values). */
  data: Buffer;
  createdTime: Date | undefined;
  deletionTime: Date | undefined;
}

export function decodeVersion(bytes: Uint8Array): Kv2Version {
  const v = VersionType.toObject(VersionType.decode(bytes), asObject) as {
    data: Buffer;
    created_time?: RawTimestamp;
    deletion_time?: RawTimestamp;
  };
  return { data: Buffer.from(v.data), createdTime: toDate(v.created_time), deletionTime: toDate(v.deletion_time) };
}

/** Encoders for tests (which build records to decode); the tool itself never writes storage. */
export const kv2ProtoTypes = { KeyMetadata: KeyMetadataType, Version: VersionType };
