import { hash, randomBytes } from 'node:crypto';

/** 32 bytes from the CSPRNG (OWASP: at least 64 bits of entropy), base64url: 43 characters. */
const TOKEN_BYTES = 32;
/** Characters in a session token (base64url of TOKEN_BYTES, unpadded). */
export const SESSION_TOKEN_LENGTH = 43;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function generateSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Only this SHA-256 is stored: a leaked sessions table yields no usable cookie. A plain hash is enough
 * because the token has 256 bits of entropy (nothing to brute-force, unlike a password).
 */
export function hashSessionToken(token: string): Buffer {
  return Buffer.from(sessionTokenDigest(token), 'base64');
}

/**
 * The same SHA-256 in base64, the session cache's key. Node's one-shot `crypto.hash` to a string costs
 * a tenth of `createHash().update().digest()` (no Hash object per call): it runs on every cookie request.
 */
export function sessionTokenDigest(token: string): string {
  return hash('sha256', token, 'base64');
}

/** Rejects malformed cookie values before they cost a database round trip. */
export function isWellFormedSessionToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}
