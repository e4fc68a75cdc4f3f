import { CredentialCache } from '../introspection/credential-cache.js';
import {
  type IntrospectionClientOptions,
  IntrospectionEndpoint,
} from '../introspection/introspection-endpoint.js';
import type { SessionIntrospection, SessionIntrospector } from './session-introspector.js';

/** Options of `HttpSessionIntrospector`; `cacheMs` defaults to 5 s. */
export type HttpSessionIntrospectorOptions = IntrospectionClientOptions;

interface IntrospectionBody {
  readonly active?: boolean;
  readonly sub?: string;
  readonly sid?: string;
  readonly roles?: string[];
  readonly auth_time?: number;
  readonly amr?: string[];
  readonly acr?: string;
}

/**
 * Session cookies outside auth-api: a sibling on the same site asks auth-api's introspection endpoint
 * (`token_type_hint=session_cookie`) and reuses the answer for a few seconds. The cache is keyed by
 * the cookie's SHA-256 (no cookie is kept in memory) and a revocation event evicts that session's
 * entries at once, so the cache never outlives a logout.
 */
export class HttpSessionIntrospector implements SessionIntrospector {
  private readonly endpoint: IntrospectionEndpoint;
  private readonly cache: CredentialCache<SessionIntrospection>;

  constructor(options: HttpSessionIntrospectorOptions) {
    this.endpoint = new IntrospectionEndpoint(options);
    this.cache = new CredentialCache(options.maxEntries ?? 10_000, options.cacheMs ?? 5000);
  }

  async introspect(token: string): Promise<SessionIntrospection> {
    const cached = this.cache.get(token);
    if (cached) {
      return cached;
    }
    const body = await this.endpoint.introspect<IntrospectionBody>(token, 'session_cookie');
    const answer: SessionIntrospection =
      body.active && body.sub && body.sid
        ? {
            active: true,
            userId: body.sub,
            sessionId: body.sid,
            roles: body.roles ?? [],
            authenticatedAt:
              typeof body.auth_time === 'number' ? new Date(body.auth_time * 1000) : null,
            amr: Array.isArray(body.amr) ? body.amr : [],
            acr: typeof body.acr === 'string' ? body.acr : null,
          }
        : // auth-api does not say why; expired and revoked both mean "sign in again".
          { active: false, reason: 'unknown' };
    this.cache.set(token, answer);
    return answer;
  }

  /** A cached active answer, without a promise; the guard still checks the revocation list. */
  recall(token: string): SessionIntrospection | undefined {
    const cached = this.cache.get(token);
    return cached?.active ? cached : undefined;
  }

  /** Drops every cached answer about a revoked session. */
  evict(sessionId: string): void {
    this.cache.deleteWhere((answer) => answer.active && answer.sessionId === sessionId);
  }
}
