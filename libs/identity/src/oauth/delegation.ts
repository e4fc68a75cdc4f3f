import type { Client } from '@gatehouse/persistence';

import { invalidTarget } from './oauth.errors.js';

/** The `/me` self-service routes of auth-api: sessions, password, email, factors. */
export const ACCOUNT_SCOPE = 'account';
/** admin-api. Granted only to first-party clients, and only while the user holds an operator role. */
export const ADMIN_SCOPE = 'admin';
/** Scopes no third-party client may be registered with or granted. */
export const RESERVED_SCOPES: readonly string[] = [ACCOUNT_SCOPE, ADMIN_SCOPE];
/**
 * The roles that open admin-api: those nest-auth's DEFAULT_CAPABILITIES gives admin capabilities to
 * (a spec in libs/http keeps the two lists equal).
 */
export const OPERATOR_ROLES: readonly string[] = ['admin', 'support'];

export function isOperator(roles: readonly string[]): boolean {
  return roles.some((role) => OPERATOR_ROLES.includes(role));
}

function scopesOf(scope: string): string[] {
  return scope.split(' ').filter(Boolean);
}

/**
 * What a token may carry now: the scope granted, less what its client is no longer registered for,
 * less the reserved scopes unless the client is first-party, less `admin` unless the user is an
 * operator *today*. `roles` null: the client acts for itself (client credentials) and has no account.
 * RFC 6749 §3.3 lets the server grant less than asked; the response's `scope` says what was granted.
 */
export function delegatedScope(
  client: Pick<Client, 'firstParty' | 'scopes'>,
  roles: readonly string[] | null,
  scope: string,
): string {
  return scopesOf(scope)
    .filter((name) => client.scopes.includes(name))
    .filter((name) => client.firstParty || !RESERVED_SCOPES.includes(name))
    .filter((name) => name !== ACCOUNT_SCOPE || roles !== null)
    .filter((name) => name !== ADMIN_SCOPE || (roles !== null && isOperator(roles)))
    .join(' ');
}

/** The resource servers a token can be minted for (RFC 8707), by their resource indicator. */
export interface Audiences {
  /** auth-api's account routes and every sibling that follows the discovery document. */
  readonly default: string;
  /** admin-api: only with the `admin` scope. */
  readonly admin: string;
  /** Resource servers registered through admin-api, among those asked for. */
  readonly registered: ReadonlySet<string>;
}

/**
 * RFC 8707 §2: the audience of an access token, from the `resource` parameters asked for, and the
 * scope narrowed to it. Without `resource` the token is for the default audience, plus admin-api when
 * `admin` was granted. With it, each one must be a resource the grant can reach (`invalid_target`
 * otherwise), and a reserved scope stays only in a token minted for the server that honours it:
 * `account` with the default audience (auth-api), `admin` with admin-api's.
 */
export function audienceOf(
  audiences: Audiences,
  scope: string,
  resources: readonly string[],
): { audience: string[]; scope: string } {
  const admin = scopesOf(scope).includes(ADMIN_SCOPE);
  if (resources.length === 0) {
    return { audience: admin ? [audiences.default, audiences.admin] : [audiences.default], scope };
  }
  const unique = [...new Set(resources)];
  for (const resource of unique) {
    const reachable =
      resource === audiences.default ||
      (resource === audiences.admin && admin) ||
      audiences.registered.has(resource);
    if (!reachable) {
      throw invalidTarget(`The resource ${resource} is not one this grant can reach.`);
    }
  }
  const narrowed = scopesOf(scope).filter(
    (name) =>
      (name !== ADMIN_SCOPE || unique.includes(audiences.admin)) &&
      (name !== ACCOUNT_SCOPE || unique.includes(audiences.default)),
  );
  return { audience: unique, scope: narrowed.join(' ') };
}
