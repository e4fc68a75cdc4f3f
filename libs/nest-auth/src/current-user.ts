import { ForbiddenError } from './auth.errors.js';
import { ADMIN_ROLE, type CapabilityMap, capabilitiesOf } from './capabilities.js';

/** `user`: a person (via cookie or bearer token); `service`: a client acting for itself. */
export type CallerKind = 'user' | 'service';

/** How the caller proved itself; cookie-authenticated writes are subject to the CSRF origin check. */
export type CredentialKind = 'cookie' | 'bearer';

export interface CallerInit {
  readonly id: string;
  readonly kind: CallerKind;
  readonly credential: CredentialKind;
  readonly sessionId: string | null;
  readonly clientId: string | null;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  /** What the session introspector attached, if anything (see `SessionIntrospection`). */
  readonly details?: unknown;
  /**
   * When the user last proved who they are (the token's `auth_time`, the cookie session's sign-in);
   * null for a service, or when the credential does not say.
   */
  readonly authenticatedAt?: Date | null;
  /** How (RFC 8176 `amr`: `pwd`, `otp`, `mfa`, `hwk`, `swk`…); empty when not known. */
  readonly amr?: readonly string[];
  /** The authentication context class (`acr`: see `ACR`); null when not known. */
  readonly acr?: string | null;
}

/**
 * Whoever is calling, whatever the credential: business code asks `can('sessions:revoke')`, never
 * "cookie or JWT?". Inject it with `@CurrentUser()`.
 */
export class Caller implements CallerInit {
  readonly id: string;
  readonly kind: CallerKind;
  readonly credential: CredentialKind;
  readonly sessionId: string | null;
  readonly clientId: string | null;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
  readonly details: unknown;
  /** When the user last signed in (`auth_time`): what `@RequireFreshAuth(seconds)` judges. */
  readonly authenticatedAt: Date | null;
  /** RFC 8176 methods of that sign-in; empty for a service or when not known. */
  readonly amr: readonly string[];
  /** Its authentication context class (`ACR`): what `@RequireMfa()` judges. */
  readonly acr: string | null;
  private readonly capabilities: ReadonlySet<string>;

  constructor(init: CallerInit, capabilityMap: CapabilityMap) {
    this.id = init.id;
    this.kind = init.kind;
    this.credential = init.credential;
    this.sessionId = init.sessionId;
    this.clientId = init.clientId;
    this.roles = init.roles;
    this.scopes = init.scopes;
    this.details = init.details;
    this.authenticatedAt = init.authenticatedAt ?? null;
    this.amr = init.amr ?? [];
    this.acr = init.acr ?? null;
    this.capabilities = capabilitiesOf(init.roles, capabilityMap);
  }

  can(capability: string): boolean {
    return this.capabilities.has(capability);
  }

  isAdmin(): boolean {
    return this.roles.includes(ADMIN_ROLE);
  }

  /** The user id of a user caller; a service (client credentials) gets 403 FORBIDDEN. */
  userId(): string {
    if (this.kind !== 'user') {
      throw new ForbiddenError('This route serves users; a service token has no account.');
    }
    return this.id;
  }
}
