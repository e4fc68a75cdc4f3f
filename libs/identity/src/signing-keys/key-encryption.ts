import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * One key per purpose, derived from the key-encryption key with HKDF-SHA256 (RFC 5869), so a
 * ciphertext of one purpose can never be opened as another.
 */
export function deriveKey(keyEncryptionKey: Buffer, purpose: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), `gatehouse:${purpose}`, 32),
  );
}

/**
 * AES-256-GCM: `version | iv | ciphertext | tag`. `context` is bound as additional data (e.g. the
 * key id), so a ciphertext moved to another row does not decrypt.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, ciphertext, cipher.getAuthTag()]);
}

/** Throws when the key, the context or a single bit of the sealed value is wrong. */
export function open(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed[0] !== VERSION || sealed.length < 1 + IV_BYTES + TAG_BYTES) {
    throw new Error('Unknown sealed value format');
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}
