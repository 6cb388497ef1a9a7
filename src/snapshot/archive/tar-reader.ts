import { corrupt, quoteName } from './corrupt.js';

/**
 * A strict, incremental, synchronous tar reader (POSIX ustar, PAX per-file headers, GNU and V7
 * headers), written for snapshot inspection rather than extraction:
 *
 * - bytes are pushed in arbitrary chunks and entry data is handed on without buffering;
 * - every header's checksum is verified;
 * - the archive must end with the end-of-archive marker (two zero blocks); only zero bytes
 *   (record padding) may follow it, anything else is trailing garbage;
 * - a missing marker, or an end of input inside a header, entry or padding, is truncation.
 *
 * It does not judge entry names or types: that is the caller's business in `onEntry`. PAX
 * per-file headers (typeflag 'x') are applied to the next entry (path and size); every other
 * header, including PAX global headers and GNU long names, is reported as an entry.
 */

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | 'pax-global-header'
  | 'gnu-long-name'
  | 'gnu-long-link-name'
  | 'other';

export interface TarEntry {
  name: string;
  type: TarEntryType;
  /** The raw typeflag character ('\0' for old regular files). */
  typeflag: string;
  /** Bytes of data that follow the header (0 for header-only types such as links and directories). */
  size: number;
  /** Offset of the entry's header (or of its PAX header) in the tar stream. */
  headerOffset: number;
}

export interface TarReaderHandlers {
  onEntry(entry: TarEntry): void;
  onData(chunk: Uint8Array): void;
  onEntryEnd(): void;
}

const BLOCK = 512;
/** PAX per-file headers we accept; Go writes a few records at most. */
const MAX_PAX_BYTES = 64 * 1024;

const typeNames: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous-file',
  g: 'pax-global-header',
  L: 'gnu-long-name',
  K: 'gnu-long-link-name',
};
/** Types whose size field does not announce data (as Go's archive/tar treats them). */
const headerOnly = new Set<TarEntryType>([
  'hardlink',
  'symlink',
  'character-device',
  'block-device',
  'directory',
  'fifo',
]);

type State = 'header' | 'pax' | 'data' | 'padding' | 'end-marker' | 'end';

function isZero(bytes: Uint8Array, from = 0, to = bytes.length): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** A numeric header field as Go's archive/tar reads it: octal (space/NUL padded) or base-256. */
function parseNumeric(field: Uint8Array): number | undefined {
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) return undefined; // negative
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i]!;
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
  while (end > start && (field[end - 1] === 0x20 || field[end - 1] === 0)) end--;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = field[i]! - 0x30;
    if (digit < 0 || digit > 7) return undefined;
    value = value * 8 + digit;
  }
  return value > Number.MAX_SAFE_INTEGER ? undefined : value;
}

function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

interface Pax {
  path?: string;
  size?: number;
}

export class TarReader {
  private state: State = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Bytes of the tar stream consumed. */
  private offset = 0;
  /** Bytes left in the current data, PAX or padding section. */
  private remaining = 0;
  private paddingAfter = 0;
  /** What the current padding follows, for messages. */
  private paddingOf = '';
  private paxParts: Buffer[] = [];
  private pax: (Pax & { headerOffset: number }) | undefined;
  private current: TarEntry | undefined;
  private entries = 0;
  private endMarkerOffset = 0;

  constructor(private readonly handlers: TarReaderHandlers) {}

  /** Bytes of the tar stream consumed so far. */
  get bytes(): number {
    return this.offset;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case 'header':
        case 'end-marker': {
          const take = Math.min(BLOCK - this.blockFill, n - i);
          this.block.set(chunk.subarray(i, i + take), this.blockFill);
          this.blockFill += take;
          this.offset += take;
          i += take;
          if (this.blockFill === BLOCK) {
            this.blockFill = 0;
            this.onBlock(this.offset - BLOCK);
          }
          break;
        }
        case 'pax': {
          const take = Math.min(this.remaining, n - i);
          this.paxParts.push(Buffer.from(chunk.subarray(i, i + take)));
          this.offset += take;
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.endPax();
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, n - i);
          this.offset += take;
          this.remaining -= take;
          this.handlers.onData(chunk.subarray(i, i + take));
          i += take;
          if (this.remaining === 0) this.endData();
          break;
        }
        case 'padding': {
          const take = Math.min(this.remaining, n - i);
          this.offset += take;
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
        case 'end': {
          for (; i < n; i++, this.offset++) {
            if (chunk[i] !== 0)
              throw corrupt(`trailing data after the tar end-of-archive marker (at tar offset ${this.offset})`);
          }
          break;
        }
      }
    }
  }

  /** Call at the end of the tar stream: throws unless the archive was complete. */
  finish(): void {
    const name = this.current === undefined ? '' : ` ${quoteName(this.current.name)}`;
    switch (this.state) {
      case 'end':
        return;
      case 'header':
        if (this.blockFill > 0)
          throw corrupt(`tar archive is truncated inside the header at offset ${this.offset - this.blockFill}`);
        if (this.pax !== undefined)
          throw corrupt(`tar archive is truncated after the PAX header at offset ${this.pax.headerOffset}`);
        if (this.offset === 0) throw corrupt('tar archive is empty');
        throw corrupt(`tar archive is truncated: it ends at offset ${this.offset} without an end-of-archive marker`);
      case 'end-marker':
        throw corrupt(`tar archive is truncated inside the end-of-archive marker at offset ${this.endMarkerOffset}`);
      case 'pax':
        throw corrupt(`tar archive is truncated inside the PAX header at offset ${this.pax?.headerOffset ?? 0}`);
      case 'data': {
        const entry = this.current!;
        throw corrupt(
          `tar archive is truncated inside the data of entry${name} (${entry.size - this.remaining} of ${entry.size} ` +
            `bytes)`,
        );
      }
      case 'padding':
        throw corrupt(`tar archive is truncated inside the padding after ${this.paddingOf}`);
    }
  }

  private onBlock(at: number): void {
    const block = this.block;
    if (this.state === 'end-marker') {
      if (!isZero(block)) {
        throw corrupt(
          `tar archive has a non-zero block at offset ${at} after the zero block at offset ${this.endMarkerOffset} ` +
            `(incomplete end-of-archive marker)`,
        );
      }
      this.state = 'end';
      return;
    }
    if (isZero(block)) {
      if (this.pax !== undefined)
        throw corrupt(`tar PAX header at offset ${this.pax.headerOffset} is not followed by an entry`);
      this.endMarkerOffset = at;
      this.state = 'end-marker';
      return;
    }

    const stored = parseNumeric(block.subarray(148, 156));
    const { unsigned, signed } = checksums(block);
    if (stored === undefined || (stored !== unsigned && stored !== signed)) {
      throw corrupt(
        this.entries === 0 && at === 0
          ? 'not a tar archive (header checksum mismatch at offset 0)'
          : `tar header at offset ${at} is invalid (checksum mismatch)`,
      );
    }
    const magic = block.subarray(257, 265);
    const ustar = Buffer.from('ustar\x0000', 'latin1');
    const gnu = Buffer.from('ustar  \x00', 'latin1');
    const format = magic.equals(ustar) ? 'ustar' : magic.equals(gnu) ? 'gnu' : isZero(magic) ? 'v7' : undefined;
    if (format === undefined) throw corrupt(`tar header at offset ${at} has an unknown format (bad magic)`);

    const typeflag = String.fromCharCode(block[156]!);
    const size = parseNumeric(block.subarray(124, 136));
    if (size === undefined) throw corrupt(`tar header at offset ${at} has an invalid size field`);
    let name = cString(block.subarray(0, 100));
    if (format === 'ustar') {
      const prefix = cString(block.subarray(345, 500));
      if (prefix !== '') name = `${prefix}/${name}`;
    }

    if (typeflag === 'x') {
      if (this.pax !== undefined) throw corrupt(`tar PAX header at offset ${at} follows another PAX header`);
      if (size > MAX_PAX_BYTES) throw corrupt(`tar PAX header at offset ${at} is larger than ${MAX_PAX_BYTES} bytes`);
      this.pax = { headerOffset: at };
      this.paxParts = [];
      this.remaining = size;
      this.paddingAfter = padding(size);
      this.state = 'pax';
      if (size === 0) this.endPax();
      return;
    }

    const pax = this.pax;
    this.pax = undefined;
    if (pax?.path !== undefined) name = pax.path;
    const type = typeNames[typeflag] ?? 'other';
    const announced = pax?.size ?? size;
    const dataSize = headerOnly.has(type) ? 0 : announced;
    const entry: TarEntry = { name, type, typeflag, size: dataSize, headerOffset: pax?.headerOffset ?? at };
    this.current = entry;
    this.entries++;
    this.handlers.onEntry(entry);
    this.remaining = dataSize;
    this.paddingAfter = padding(dataSize);
    this.state = 'data';
    if (dataSize === 0) this.endData();
  }

  private endPax(): void {
    const at = this.pax!.headerOffset;
    const bytes = Buffer.concat(this.paxParts);
    this.paxParts = [];
    const bad = () => corrupt(`tar PAX header at offset ${at} is malformed`);
    let pos = 0;
    while (pos < bytes.length) {
      const space = bytes.indexOf(0x20, pos);
      if (space === -1 || space === pos || space - pos > 20) throw bad();
      const lengthText = bytes.toString('latin1', pos, space);
      if (!/^[0-9]+$/.test(lengthText)) throw bad();
      const length = Number(lengthText);
      const end = pos + length;
      if (length <= space - pos + 1 || end > bytes.length || bytes[end - 1] !== 0x0a) throw bad();
      const record = bytes.subarray(space + 1, end - 1);
      const eq = record.indexOf(0x3d);
      if (eq <= 0) throw bad();
      const key = record.toString('utf8', 0, eq);
      const value = record.toString('utf8', eq + 1);
      if (key === 'path') {
        if (value.includes('\0')) throw bad();
        this.pax!.path = value;
      } else if (key === 'size') {
        if (!/^[0-9]{1,16}$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) throw bad();
        this.pax!.size = Number(value);
      }
      pos = end;
    }
    this.paddingOf = `the PAX header at offset ${at}`;
    this.startPadding();
  }

  private endData(): void {
    this.paddingOf = `entry ${quoteName(this.current!.name)}`;
    this.handlers.onEntryEnd();
    this.startPadding();
  }

  private startPadding(): void {
    this.remaining = this.paddingAfter;
    this.state = this.remaining === 0 ? 'header' : 'padding';
  }
}
