import { hash } from 'node:crypto';

/**
 * A size-bounded cache keyed by a credential, each entry living `ttlMs` (forever when 0); when full,
 * the oldest entry goes first. With `hashKeys` the key is the credential's SHA-256, so no cookie or
 * token is kept in memory (off for the hot path of verified access tokens, whose claims are cached
 * beside them anyway).
 */
export class CredentialCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs = 0,
    private readonly hashKeys = true,
  ) {}

  get(credential: string): V | undefined {
    const key = this.keyOf(credential);
    const entry = this.entries.get(key);
    // No clock read for entries that never expire (the verified-token cache's, on every bearer call).
    if (entry && (this.ttlMs === 0 || entry.expiresAt > Date.now())) {
      return entry.value;
    }
    this.entries.delete(key);
    return undefined;
  }

  set(credential: string, value: V): void {
    if (this.capacity <= 0) {
      return;
    }
    if (this.entries.size >= this.capacity) {
      // Map iteration is insertion order: the oldest entry goes first.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    const expiresAt = this.ttlMs > 0 ? Date.now() + this.ttlMs : Number.POSITIVE_INFINITY;
    this.entries.set(this.keyOf(credential), { value, expiresAt });
  }

  delete(credential: string): void {
    this.entries.delete(this.keyOf(credential));
  }

  /** Drops every entry whose value matches (e.g. the answers about a revoked session). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, { value }] of this.entries) {
      if (matches(value)) {
        this.entries.delete(key);
      }
    }
  }

  private keyOf(credential: string): string {
    // Node's one-shot hash: no Hash object per lookup (a tenth of createHash().update().digest()).
    return this.hashKeys ? hash('sha256', credential, 'base64url') : credential;
  }
}
