import type { ClientRevocationEvent } from './revocation-feed.js';

/**
 * The clients whose own tokens (client credentials) were revoked, each until the longest such token
 * could have expired. One entry per client, so it stays as small as the set of registered clients.
 */
export class ClientRevocations {
  private readonly clients = new Map<string, { revokedAtMs: number; untilMs: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  add(event: ClientRevocationEvent): void {
    const now = this.now();
    for (const [clientId, entry] of this.clients) {
      if (entry.untilMs <= now) {
        this.clients.delete(clientId);
      }
    }
    if (event.untilMs <= now) {
      return;
    }
    const known = this.clients.get(event.clientId);
    this.clients.set(event.clientId, {
      revokedAtMs: Math.max(event.revokedAtMs, known?.revokedAtMs ?? 0),
      untilMs: Math.max(event.untilMs, known?.untilMs ?? 0),
    });
  }

  /**
   * Whether a token the client obtained for itself at `issuedAt` (seconds, the JWT `iat`) was
   * revoked. `iat` has whole seconds, so a token of the revocation's own second counts as revoked:
   * in doubt, refuse.
   */
  isRevoked(clientId: string, issuedAt: number): boolean {
    const entry = this.clients.get(clientId);
    return (
      entry !== undefined && entry.untilMs > this.now() && issuedAt * 1000 <= entry.revokedAtMs
    );
  }
}
