import { readOptionFile } from '../io/option-file.js';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { VaultOpsError } from '../errors.js';

/**
 * Client-side encryption with age (X25519 recipients), streamed: the archive is encrypted chunk
 * by chunk on its way to the store and decrypted the same way on its way back. The age library
 * (with its post-quantum and curve code) is loaded only when a stream is encrypted or decrypted.
 */
export async function readRecipients(inline: readonly string[], file?: string): Promise<string[]> {
  const recipients = [...inline];
  if (file) {
    const text = await readOptionFile(file, 'recipients', '--recipients-file');
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed && !trimmed.startsWith('#')) recipients.push(trimmed);
    }
  }
  for (const r of recipients) {
    if (!/^age1[0-9a-z]{58}$/.test(r))
      throw new VaultOpsError(
        'config',
        `invalid age recipient ${JSON.stringify(r.slice(0, 70))}: expected an X25519 public key such as age1…`,
      );
  }
  return recipients;
}

export async function encryptStream(plaintext: Readable, recipients: readonly string[]): Promise<Readable> {
  const { Encrypter } = await import('age-encryption');
  const encrypter = new Encrypter();
  for (const r of recipients) encrypter.addRecipient(r);
  const web = Readable.toWeb(plaintext) as unknown as globalThis.ReadableStream<Uint8Array>;
  const out = await encrypter.encrypt(web);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/** Identities file: age's format, one AGE-SECRET-KEY-1… per line, # comments. */
export async function readIdentities(file: string): Promise<string[]> {
  const ids = (await readOptionFile(file, 'identity', '--identity-file'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (ids.length === 0 || ids.some((l) => !l.startsWith('AGE-SECRET-KEY-1'))) {
    throw new VaultOpsError(
      'config',
      `${file} holds no age identity (lines starting with AGE-SECRET-KEY-1): check --identity-file`,
    );
  }
  return ids;
}

export async function decryptStream(ciphertext: Readable, identities: readonly string[]): Promise<Readable> {
  const { Decrypter } = await import('age-encryption');
  const decrypter = new Decrypter();
  for (const id of identities) decrypter.addIdentity(id);
  const web = Readable.toWeb(ciphertext) as unknown as globalThis.ReadableStream<Uint8Array>;
  try {
    const out = await decrypter.decrypt(web);
    return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
  } catch (err) {
    throw new VaultOpsError(
      'verification',
      `cannot decrypt the snapshot: ${(err as Error).message.split('\n')[0]}; check --identity-file holds a key for ` +
        `one of its recipients`,
      { cause: err },
    );
  }
}
