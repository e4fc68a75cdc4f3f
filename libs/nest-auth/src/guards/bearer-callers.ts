import { Inject, Injectable } from '@nestjs/common';

import {
  GatehouseAuthError,
  InvalidTokenError,
  RevocationCheckUnavailableError,
  SessionRevokedError,
  VerificationUnavailableError,
} from '../auth.errors.js';
import { type CapabilityMap, DEFAULT_CAPABILITIES, mergeCapabilities } from '../capabilities.js';
import { Caller } from '../current-user.js';
import { GATEHOUSE_AUTH_OPTIONS, type GatehouseAuthOptions } from '../gatehouse-auth.options.js';
import { ClientRevocations } from '../revocation/client-revocations.js';
import { RevocationList } from '../revocation/revocation-list.js';
import type { AccessTokenClaims } from '../tokens/access-token.verifier.js';
import type { HttpExchange } from './http-exchange.js';

/**
 * What a verified bearer token becomes: the revocation checks, then its `Caller`. Shared by
 * `AuthenticationGuard` and `GatehouseJwtStrategy`, so both refuse the same tokens and hand routes
 * the same `CurrentUser`.
 */
@Injectable()
export class BearerCallers {
  /** `WWW-Authenticate` without an error code (RFC 6750 §3.1: the request carried no token). */
  readonly challenge: string;
  readonly capabilities: CapabilityMap;
  private readonly callers = new WeakMap<AccessTokenClaims, Caller>();
  /** Callers whose token carries a `roles` claim (first-party tokens). */
  private readonly rolesDelegated = new WeakSet<Caller>();

  constructor(
    @Inject(GATEHOUSE_AUTH_OPTIONS) private readonly options: GatehouseAuthOptions,
    private readonly revocations: RevocationList,
    private readonly clientRevocations: ClientRevocations,
  ) {
    this.challenge = `Bearer realm="${options.realm ?? 'gatehouse'}"`;
    this.capabilities = mergeCapabilities(DEFAULT_CAPABILITIES, options.capabilities);
  }

  /**
   * The caller of a token whose signature and claims hold, unless its session or its client's own
   * tokens were revoked. `checkedAtPlatform`: the verifier already asked the platform about the
   * session, so a revocation list that cannot vouch for it needs no other answer.
   */
  async callerOf(
    token: string,
    claims: AccessTokenClaims,
    checkedAtPlatform: boolean,
  ): Promise<Caller> {
    const settled = this.settledCallerOf(claims);
    if (settled) {
      return settled;
    }
    // Only while the list overflows or the feed has not caught up yet.
    if (!checkedAtPlatform) {
      await this.askPlatform(token, claims.sid!);
    }
    return this.mapped(claims);
  }

  /**
   * `callerOf` without a promise, for what the in-process lists can answer on their own: the caller,
   * a refusal (thrown), or undefined when the revocation list cannot vouch for the token's session
   * (it overflows, or the feed has not caught up) and the platform must be asked.
   */
  settledCallerOf(claims: AccessTokenClaims): Caller | undefined {
    if (claims.sid) {
      const status = this.revocations.lookup(claims.sid);
      if (status === 'revoked') {
        throw new SessionRevokedError();
      }
      if (status === 'unknown') {
        return undefined;
      }
    } else if (this.clientRevocations.isRevoked(claims.client_id, claims.iat ?? 0)) {
      throw new InvalidTokenError("The client's tokens were revoked.");
    }
    return this.mapped(claims);
  }

  /** Whether the caller's roles came from its token (only first-party tokens carry them). */
  hasDelegatedRoles(caller: Caller): boolean {
    return this.rolesDelegated.has(caller);
  }

  /**
   * The headers of a refused bearer token: RFC 6750 §3.1's `error="invalid_token"` challenge for a
   * 401, `Retry-After` for a 503 (the token may be good; the check cannot be made yet).
   */
  answerRefusal(exchange: HttpExchange, error: unknown): void {
    if (error instanceof RevocationCheckUnavailableError) {
      const overflowUntil = this.revocations.overflowUntil ?? Date.now();
      const seconds = Math.max(1, Math.ceil((overflowUntil - Date.now()) / 1000));
      exchange.setHeader('Retry-After', String(seconds));
    } else if (error instanceof VerificationUnavailableError) {
      exchange.setHeader('Retry-After', String(error.retryAfterSeconds));
    } else if (error instanceof GatehouseAuthError) {
      exchange.setHeader('WWW-Authenticate', `${this.challenge}, error="invalid_token"`);
    }
  }

  /**
   * A bearer token's session the revocation list cannot vouch for: `revocationFallback` decides, and
   * without one the guard fails closed (see `RevocationCheckUnavailableError`).
   */
  private async askPlatform(token: string, sessionId: string): Promise<void> {
    const fallback = this.options.revocationFallback;
    if (!fallback) {
      throw new RevocationCheckUnavailableError();
    }
    if (await fallback.isRevoked(token, sessionId)) {
      throw new SessionRevokedError();
    }
  }

  /**
   * A verified token's claims object is reused by the verifier's cache, so its (immutable) Caller is
   * built once per token instead of once per request.
   */
  private mapped(claims: AccessTokenClaims): Caller {
    let caller = this.callers.get(claims);
    if (!caller) {
      const service = !claims.sid && claims.sub === claims.client_id;
      caller = new Caller(
        {
          id: claims.sub,
          kind: service ? 'service' : 'user',
          credential: 'bearer',
          sessionId: claims.sid ?? null,
          clientId: claims.client_id,
          roles: claims.roles ?? [],
          scopes: (claims.scope ?? '').split(' ').filter(Boolean),
          authenticatedAt:
            typeof claims.auth_time === 'number' ? new Date(claims.auth_time * 1000) : null,
          amr: Array.isArray(claims.amr) ? claims.amr : [],
          acr: typeof claims.acr === 'string' ? claims.acr : null,
        },
        this.capabilities,
      );
      this.callers.set(claims, caller);
      if (claims.roles !== undefined) {
        this.rolesDelegated.add(caller);
      }
    }
    return caller;
  }
}
