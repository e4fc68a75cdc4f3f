import { generateSync } from 'otplib';

/** RFC 6238's default time step, the one Gatehouse uses. */
export const TOTP_STEP_MS = 30_000;

/**
 * The TOTP code (6 digits, SHA-1, 30 s) of a base32 secret as shown at enrolment, at `atMs`, `offset`
 * steps away. Computed with otplib, an implementation independent of the app's @oslojs/otp, so a
 * test cannot pass because generator and verifier share a mistake.
 */
export function totpCode(secret: string, atMs: number, offset = 0): string {
  return generateSync({
    secret,
    epoch: Math.floor((atMs + offset * TOTP_STEP_MS) / 1000),
  });
}

/**
 * The middle of the current time step: a code computed for it is then accepted for exactly this
 * step ±1, however long the test takes within that window (the tests freeze the app's clock there).
 */
export function middleOfCurrentStep(): number {
  return Math.floor(Date.now() / TOTP_STEP_MS) * TOTP_STEP_MS + TOTP_STEP_MS / 2;
}
