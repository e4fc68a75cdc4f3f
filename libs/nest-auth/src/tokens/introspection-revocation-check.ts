import { CredentialCache } from '../introspection/credential-cache.js';
import {
  type IntrospectionClientOptions,
  IntrospectionEndpoint,
} from '../introspection/introspection-endpoint.js';

/**
 * Options of `IntrospectionRevocationCheck`. `cacheMs` is the trade-off: a revocation reaches this
 * guard up to that late, and each distinct token costs one call to auth-api per period. 5 s by
 * default; 0 asks every time.
 */
export type IntrospectionRevocationCheckOptions = IntrospectionClientOptions;

/**
 * For a guard with no revocation feed: asks auth-api (RFC 7662) whether a locally verified token is
 * still active — its session may have been revoked — and caches the answer briefly.
 */
export class IntrospectionRevocationCheck {
  private readonly endpoint: IntrospectionEndpoint;
  private readonly cache: CredentialCache<boolean>;
  private readonly caching: boolean;

  constructor(options: IntrospectionRevocationCheckOptions) {
    const cacheMs = options.cacheMs ?? 5000;
    this.endpoint = new IntrospectionEndpoint(options);
    this.caching = cacheMs > 0;
    this.cache = new CredentialCache(options.maxEntries ?? 10_000, cacheMs);
  }

  async isRevoked(token: string): Promise<boolean> {
    const cached = this.caching ? this.cache.get(token) : undefined;
    if (cached !== undefined) {
      return !cached;
    }
    const { active } = await this.endpoint.introspect<{ active?: boolean }>(token, 'access_token');
    if (this.caching) {
      this.cache.set(token, active === true);
    }
    return active !== true;
  }
}
