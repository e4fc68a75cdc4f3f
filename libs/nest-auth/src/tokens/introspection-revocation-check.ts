import { createHash } from 'node:crypto';

export interface IntrospectionRevocationCheckOptions {
  /** auth-api's `introspection_endpoint`. */
  readonly endpoint: string;
  /** A confidential client of auth-api (introspection is client-authenticated). */
  readonly clientId: string;
  readonly clientSecret: string;
  /**
   * How long an answer is reused. The trade-off: a revocation reaches this guard up to this late, and
   * each distinct token costs one call to auth-api per period. 5 s by default; 0 asks every time.
   */
  readonly cacheMs?: number;
  readonly maxEntries?: number;
}

/**
 * For a guard with no revocation feed: asks auth-api (RFC 7662) whether a locally verified token is
 * still active — its session may have been revoked — and caches the answer briefly.
 */
export class IntrospectionRevocationCheck {
  private readonly cache = new Map<string, { active: boolean; expiresAt: number }>();
  private readonly authorization: string;

  constructor(private readonly options: IntrospectionRevocationCheckOptions) {
    const encode = (value: string) => encodeURIComponent(value);
    this.authorization = `Basic ${Buffer.from(
      `${encode(options.clientId)}:${encode(options.clientSecret)}`,
    ).toString('base64')}`;
  }

  async isRevoked(token: string): Promise<boolean> {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) {
      return !cached.active;
    }
    const response = await fetch(this.options.endpoint, {
      method: 'POST',
      headers: {
        authorization: this.authorization,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    if (!response.ok) {
      throw new Error(`Token introspection answered ${response.status}`);
    }
    const { active } = (await response.json()) as { active?: boolean };
    const cacheMs = this.options.cacheMs ?? 5000;
    if (cacheMs > 0) {
      if (this.cache.size >= (this.options.maxEntries ?? 10_000)) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) {
          this.cache.delete(oldest);
        }
      }
      this.cache.set(key, { active: active === true, expiresAt: Date.now() + cacheMs });
    }
    return active !== true;
  }
}
