import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

import { AuthenticationCredentialDto } from '../account/passkeys.dto.js';

/**
 * The `credential` field of a page's passkey form (what `/assets/passkey.js` serialised), held to the
 * same shape as the JSON API's `assertion`; null if it is not one.
 */
export function passkeyCredential(field: string | undefined): AuthenticationResponseJSON | null {
  if (!field) {
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(field);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return null;
  }
  const credential = plainToInstance(AuthenticationCredentialDto, parsed);
  const problems = validateSync(credential, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  return problems.length === 0 ? credential : null;
}
