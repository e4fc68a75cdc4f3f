/**
 * Emails are compared case-insensitively: stored trimmed and lower-cased (the `users` table checks it).
 * Unicode is NFC-normalised first so that visually equal addresses are one account.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
