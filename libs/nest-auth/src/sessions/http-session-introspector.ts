import { createHash } from 'node:crypto';

import type { SessionIntrospection, SessionIntrospector } from './session-introspector.js';

export interface HttpSessionIntrospectorOptions {
  /** auth-api's `introspection_endpoint` (from its discovery document). */
  readonly endpoint: string;
  /** A confidential client of auth-api: introspection is client-authenticated (RFC 7662 §2.1). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an answer is reused; revocation events evict it sooner. 5 s by default. */
  readonly cacheMs?: number;
  /** Bound of the answer cache. */
  readonly maxEntries?: number;
}

interface IntrospectionBody {
  readonly active?: boolean;
  readonly sub?: string;
  readonly sid?: string;
  readonly roles?: string[];
}

interface CachedAnswer {
  readonly answer: SessionIntrospection;
  readonly expiresAt: number;
}

/**
 * Session cookies outside auth-api: a sibling on the same site asks auth-api's introspection endpoint
 * (`token_type_hint=session_cookie`) and reuses the answer for a few seconds. The cache is keyed by
 * the cookie's SHA-256 (no cookie is kept in memory) and a revocation event evicts that session's
 * entries at once, so the cache never outlives a logout.
 */
export class HttpSessionIntrospector implements SessionIntrospector {
  private readonly cache = new Map<string, CachedAnswer>();
  private readonly authorization: string;

  constructor(private readonly options: HttpSessionIntrospectorOptions) {
    const encode = (value: string) => encodeURIComponent(value);
    this.authorization = `Basic ${Buffer.from(
      `${encode(options.clientId)}:${encode(options.clientSecret)}`,
    ).toString('base64')}`;
  }

  async introspect(token: string): Promise<SessionIntrospection> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      return cached.answer;
    }
    const answer = await this.ask(token);
    this.remember(key, answer);
    return answer;
  }

  /** Drops every cached answer about a revoked session. */
  evict(sessionId: string): void {
    for (const [key, { answer }] of this.cache) {
      if (answer.active && answer.sessionId === sessionId) {
        this.cache.delete(key);
      }
    }
  }

  private async ask(token: string): Promise<SessionIntrospection> {
    const response = await fetch(this.options.endpoint, {
      method: 'POST',
      headers: {
        authorization: this.authorization,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: 'session_cookie' }),
    });
    if (!response.ok) {
      throw new Error(`Session introspection answered ${response.status}`);
    }
    const body = (await response.json()) as IntrospectionBody;
    if (!body.active || !body.sub || !body.sid) {
      // auth-api does not say why; expired and revoked both mean "sign in again".
      return { active: false, reason: 'unknown' };
    }
    return { active: true, userId: body.sub, sessionId: body.sid, roles: body.roles ?? [] };
  }

  private remember(key: string, answer: SessionIntrospection): void {
    const max = this.options.maxEntries ?? 10_000;
    if (this.cache.size >= max) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) {
        this.cache.delete(oldest);
      }
    }
    this.cache.set(key, { answer, expiresAt: Date.now() + (this.options.cacheMs ?? 5000) });
  }
}
