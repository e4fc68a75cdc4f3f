import type { Client } from '@gatehouse/persistence';

import { invalidScope } from './oauth.errors.js';

/**
 * The OpenID Connect scopes: `openid` (an ID token, userinfo), `email` (its claims) and
 * `offline_access` (OIDC Core §11; accepted, while refresh tokens follow the client's
 * `refresh_token` grant as in every flow).
 */
export const OPENID_CONNECT_SCOPES: readonly string[] = ['openid', 'email', 'offline_access'];

/**
 * What a client gets when it names no scope: every scope it registered. A first-party client gets
 * them less the OpenID Connect ones, which it must name (OIDC Core §3.1.2.1: an OpenID request
 * carries `openid`), so first-party apps that name no scope get what they always got.
 */
export function defaultScopeOf(client: Pick<Client, 'firstParty' | 'scopes'>): string[] {
  return client.firstParty
    ? client.scopes.filter((scope) => !OPENID_CONNECT_SCOPES.includes(scope))
    : [...client.scopes];
}

/**
 * RFC 6749 §3.3: what a client asked for, each scope registered for it, or its default
 * (`defaultScopeOf`) when it asked for none.
 */
export function grantedScope(client: Client, requested: string | undefined): string {
  if (requested === undefined) {
    return defaultScopeOf(client).join(' ');
  }
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  if (asked.some((scope) => !client.scopes.includes(scope))) {
    throw invalidScope('The requested scope is not registered for this client.');
  }
  return asked.join(' ');
}
