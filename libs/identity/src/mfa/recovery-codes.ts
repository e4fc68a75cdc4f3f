import { createHash, randomBytes } from 'node:crypto';

import { encodeBase32NoPadding } from '@oslojs/encoding';

export const RECOVERY_CODE_COUNT = 10;

/**
 * Ten codes of 80 random bits each (16 base32 characters, shown as four groups of four). Stored as
 * SHA-256 only: with 80 bits of entropy a stolen hash cannot be brute-forced, so a slow password
 * hash (argon2) would add cost on every use and no protection.
 */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = encodeBase32NoPadding(randomBytes(10)).toLowerCase();
    return raw.match(/.{4}/g)!.join('-');
  });
}

/** Case, spaces and dashes do not matter when the user types a code back. */
export function hashRecoveryCode(code: string): Buffer {
  const normalized = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(normalized).digest();
}
