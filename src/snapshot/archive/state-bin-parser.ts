import { corrupt } from './corrupt.js';

/**
 * Incremental parser for a Raft snapshot's state.bin: a sequence of records, each a protobuf
 * uvarint length followed by a `StorageEntry` message
 *
 *   message StorageEntry { string key = 1; bytes value = 2; bool seal_wrap = 3; }
 *
 * Bytes arrive in arbitrary chunks; a record, a field or a single varint may straddle chunk
 * boundaries. Only keys are kept (values are barrier-encrypted and skipped without copying), so
 * memory is bounded by the longest key, whatever the size of state.bin.
 *
 * Unknown fields with a valid wire type are skipped, as protobuf decoders do; a known field with
 * the wrong wire type, an invalid wire type, a varint longer than 10 bytes, a field running past
 * the end of its record, a record without a key or a key that is not UTF-8 is corruption.
 */

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface StateBinParserOptions {
  /** Called once per complete record with its key. */
  onKey: (key: string) => void;
  /** A record longer than this is corruption. Default 64 MiB. */
  maxRecordBytes?: number;
}

type State =
  | 'length' // reading a record's length prefix
  | 'tag' // reading a field tag inside a record
  | 'fieldLength' // reading the length of a length-delimited field
  | 'key' // copying key bytes
  | 'skip' // skipping a value, an unknown length-delimited field or a fixed32/fixed64
  | 'varint'; // skipping a varint field value

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const FIELD_KEY = 1;
const FIELD_VALUE = 2;
const FIELD_SEAL_WRAP = 3;

const knownFields: Record<number, { name: string; wireType: number }> = {
  [FIELD_KEY]: { name: 'key', wireType: WIRE_LEN },
  [FIELD_VALUE]: { name: 'value', wireType: WIRE_LEN },
  [FIELD_SEAL_WRAP]: { name: 'seal_wrap', wireType: WIRE_VARINT },
};

const wireTypeNames = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', '6', '7'];

export class StateBinParser {
  private readonly onKey: (key: string) => void;
  private readonly maxRecordBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  private state: State = 'length';
  /** Bytes of state.bin consumed so far. */
  private offset = 0;
  private records = 0;
  private recordStart = 0;
  /** Bytes of the current record's message not consumed yet. */
  private recordRemaining = 0;

  private varValue = 0;
  private varBytes = 0;

  private fieldIsKey = false;
  private fieldRemaining = 0;
  private keyParts: Buffer[] = [];
  private key: string | undefined;

  constructor(options: StateBinParserOptions) {
    this.onKey = options.onKey;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  /** Bytes consumed so far. */
  get bytes(): number {
    return this.offset;
  }

  /** Complete records so far. */
  get recordCount(): number {
    return this.records;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case 'length': {
          if (this.varBytes === 0) this.recordStart = this.offset;
          const b = chunk[i++]!;
          this.offset++;
          if (!this.varintByte(b)) break;
          const length = this.takeVarint();
          if (length > this.maxRecordBytes) {
            throw this.malformed(`record length ${length} exceeds the limit of ${this.maxRecordBytes} bytes`);
          }
          this.recordRemaining = length;
          this.key = undefined;
          if (length === 0) this.endRecord();
          else this.state = 'tag';
          break;
        }
        case 'tag': {
          const b = chunk[i++]!;
          this.offset++;
          this.recordRemaining--;
          const done = this.varintByte(b);
          if (!done) {
            if (this.recordRemaining === 0) throw this.malformed('a field tag runs past the end of the record');
            break;
          }
          this.startField(this.takeVarint());
          break;
        }
        case 'fieldLength': {
          const b = chunk[i++]!;
          this.offset++;
          this.recordRemaining--;
          const done = this.varintByte(b);
          if (!done) {
            if (this.recordRemaining === 0) throw this.malformed('a field length runs past the end of the record');
            break;
          }
          const length = this.takeVarint();
          if (length > this.recordRemaining) {
            throw this.malformed(
              `a ${this.fieldIsKey ? 'key' : 'length-delimited'} field of ${length} bytes runs past the end of the ` +
                `record`,
            );
          }
          this.fieldRemaining = length;
          if (this.fieldIsKey) {
            this.keyParts = [];
            this.state = 'key';
          } else {
            this.state = 'skip';
          }
          if (length === 0) this.endField();
          break;
        }
        case 'key': {
          const take = Math.min(this.fieldRemaining, n - i);
          // Copied: the caller may reuse its chunk buffers.
          this.keyParts.push(Buffer.from(chunk.subarray(i, i + take)));
          this.consume(take);
          i += take;
          if (this.fieldRemaining === 0) this.endField();
          break;
        }
        case 'skip': {
          const take = Math.min(this.fieldRemaining, n - i);
          this.consume(take);
          i += take;
          if (this.fieldRemaining === 0) this.endField();
          break;
        }
        case 'varint': {
          const b = chunk[i++]!;
          this.offset++;
          this.recordRemaining--;
          const done = this.varintByte(b);
          if (!done) {
            if (this.recordRemaining === 0) throw this.malformed('a varint field runs past the end of the record');
            break;
          }
          this.takeVarint();
          this.endField();
          break;
        }
      }
    }
  }

  /** Call at the end of state.bin: throws unless it ended exactly at a record boundary. */
  finish(): void {
    if (this.state === 'length' && this.varBytes === 0) return;
    throw corrupt(
      `state.bin is truncated: record ${this.records + 1} starting at offset ${this.recordStart} is incomplete ` +
        `(state.bin ends at offset ${this.offset})`,
    );
  }

  private consume(count: number): void {
    this.offset += count;
    this.recordRemaining -= count;
    this.fieldRemaining -= count;
  }

  /** Adds one byte to the varint being read; true when it is complete. */
  private varintByte(b: number): boolean {
    // A uint64 varint has at most 10 bytes, and the 10th carries only bit 63.
    if (this.varBytes === 9 && b > 1) throw this.malformed('a varint is longer than 10 bytes or overflows 64 bits');
    this.varValue += (b & 0x7f) * 2 ** (7 * this.varBytes);
    this.varBytes++;
    return (b & 0x80) === 0;
  }

  private takeVarint(): number {
    const value = this.varValue;
    this.varValue = 0;
    this.varBytes = 0;
    return value;
  }

  private startField(tag: number): void {
    if (tag > 0xffffffff) throw this.malformed('a field tag overflows 32 bits');
    const wireType = tag % 8;
    const field = Math.floor(tag / 8);
    if (field === 0) throw this.malformed('a field has the invalid field number 0');
    const known = knownFields[field];
    if (known !== undefined && known.wireType !== wireType) {
      throw this.malformed(
        `field ${field} (${known.name}) has wire type ${wireType} (${wireTypeNames[wireType]}), expected ` +
          `${known.wireType} (${wireTypeNames[known.wireType]})`,
      );
    }
    this.fieldIsKey = field === FIELD_KEY;
    switch (wireType) {
      case WIRE_VARINT:
        this.state = 'varint';
        break;
      case WIRE_LEN:
        this.state = 'fieldLength';
        break;
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const size = wireType === WIRE_FIXED64 ? 8 : 4;
        if (size > this.recordRemaining)
          throw this.malformed(`a fixed${size * 8} field runs past the end of the record`);
        this.fieldRemaining = size;
        this.state = 'skip';
        break;
      }
      default:
        throw this.malformed(`field ${field} has the invalid wire type ${wireType} (${wireTypeNames[wireType]})`);
    }
  }

  private endField(): void {
    if (this.state === 'key') {
      const bytes = this.keyParts.length === 1 ? this.keyParts[0]! : Buffer.concat(this.keyParts);
      this.keyParts = [];
      try {
        this.key = this.decoder.decode(bytes);
      } catch {
        throw this.malformed('the key is not valid UTF-8');
      }
    }
    if (this.recordRemaining === 0) this.endRecord();
    else this.state = 'tag';
  }

  private endRecord(): void {
    if (this.key === undefined) throw this.malformed('the record has no key field');
    const key = this.key;
    this.key = undefined;
    this.records++;
    this.state = 'length';
    this.onKey(key);
  }

  private malformed(problem: string) {
    return corrupt(
      `state.bin record ${this.records + 1} (starting at offset ${this.recordStart}) is malformed at offset ` +
        `${Math.max(0, this.offset - 1)}: ${problem}`,
    );
  }
}
