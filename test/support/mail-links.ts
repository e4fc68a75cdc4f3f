import type { ParsedMail } from 'mailparser';
import { expect } from 'vitest';

/** The token of the first link to `path` in a mail's text part. */
export function linkToken(message: ParsedMail | undefined, path: string): string {
  const pattern = new RegExp(`https?://[^\\s]+${path}\\?token=([A-Za-z0-9_%-]+)`);
  const encoded = pattern.exec(message?.text ?? '')?.[1];
  expect(encoded, `a link to ${path} in the mail`).toBeDefined();
  return decodeURIComponent(encoded!);
}

/** What `POST /auth/email/verify` and the email-change links answer for a link that opens nothing. */
export const VERIFICATION_LINK_INVALID = {
  statusCode: 400,
  error: 'VERIFICATION_TOKEN_INVALID',
  message: 'This link is invalid or has expired. Ask for a new one.',
};
