import { createHash, randomBytes } from 'node:crypto';

/** Opaque refresh tokens: 32 bytes from the CSPRNG, base64url; stored only as SHA-256. */
export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
