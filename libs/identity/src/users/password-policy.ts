import { COMMON_PASSWORDS } from './common-passwords.js';

/** NIST SP 800-63B §3.1.1.2: at least 8 characters, allow at least 64 (we allow 128), no composition rules. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** Unicode is NFKC-normalised before hashing and comparing (SP 800-63B §3.1.1.2). */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * The reasons a new password is refused, empty when it is acceptable. Length counts Unicode code points.
 * `context` holds values the password must not be (the account's email or its local part).
 */
export function passwordProblems(password: string, context: readonly string[] = []): string[] {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return [`password must be at least ${PASSWORD_MIN_LENGTH} characters long`];
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return [`password must be at most ${PASSWORD_MAX_LENGTH} characters long`];
  }
  const lowered = normalized.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered) || /^(.)\1+$/u.test(normalized)) {
    return ['password is too common; choose a less predictable one'];
  }
  const contextual = context.flatMap((value) => [value, value.split('@')[0] ?? '']);
  if (contextual.some((value) => value.length > 0 && lowered === value.toLowerCase())) {
    return ['password must not be the same as the email address'];
  }
  return [];
}
