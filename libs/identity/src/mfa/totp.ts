import { randomBytes, timingSafeEqual } from 'node:crypto';

import { encodeBase32NoPadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';

/** RFC 6238 defaults, the ones every authenticator app supports: SHA-1, 30 s, 6 digits. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** RFC 6238 §5.2: one step of clock drift either way. */
const DRIFT_STEPS = 1;
/** RFC 4226 §4 asks for at least 128 bits; 160 is the HMAC-SHA1 block size RFC 6238 recommends. */
const SECRET_BYTES = 20;

export function generateTotpSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

export function base32Secret(secret: Uint8Array): string {
  return encodeBase32NoPadding(secret);
}

/** The time step of an instant (RFC 6238 §4.2, T0 = 0). */
export function timeStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` (Google Authenticator's key URI format). */
export function totpUri(issuer: string, account: string, secret: Uint8Array): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: base32Secret(secret),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${query.toString()}`;
}

/**
 * The time step whose code `code` is, within ±1 step of `at`, or null. The caller records the step and
 * refuses it (and every earlier one) afterwards, so each code is accepted once.
 */
export function matchingStep(secret: Uint8Array, code: string, at: Date): number | null {
  if (!/^\d{6}$/.test(code)) {
    return null;
  }
  const now = timeStep(at);
  let found: number | null = null;
  // Every candidate is compared (constant work), the latest match wins.
  for (let step = now - DRIFT_STEPS; step <= now + DRIFT_STEPS; step++) {
    const expected = generateHOTP(secret, BigInt(step), TOTP_DIGITS);
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code))) {
      found = step;
    }
  }
  return found;
}
