import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 bytes from the CSPRNG, base64url: shown once to the operator, stored only as its SHA-256. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashClientSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Compares hashes in constant time: timing says nothing about how much of a guess was right. */
export function clientSecretMatches(secret: string, storedHash: Buffer): boolean {
  const candidate = hashClientSecret(secret);
  return candidate.length === storedHash.length && timingSafeEqual(candidate, storedHash);
}
