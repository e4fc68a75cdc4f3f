import type { Client } from '@gatehouse/persistence';

import { invalidScope } from './oauth.errors.js';

/**
 * RFC 6749 §3.3: what a client asked for, each scope registered for it, or its default (every scope
 * it registered) when it asked for none.
 */
export function grantedScope(client: Client, requested: string | undefined): string {
  if (requested === undefined) {
    return client.scopes.join(' ');
  }
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  if (asked.some((scope) => !client.scopes.includes(scope))) {
    throw invalidScope('The requested scope is not registered for this client.');
  }
  return asked.join(' ');
}
