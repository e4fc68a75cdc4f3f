/** A revoked session, as broadcast and as stored in the `revocations` table. */
export interface RevocationEvent {
  readonly sessionId: string;
  /**
   * Epoch milliseconds after which no access token of the session can still be valid. An event whose
   * `untilMs` has already passed revokes nothing: it only tells caches to forget the session (its
   * user's roles changed).
   */
  readonly untilMs: number;
}

/**
 * Every token a client obtained for itself (client credentials) up to a moment: the client was
 * deleted or lost a scope or grant. Such tokens have no session to revoke.
 */
export interface ClientRevocationEvent {
  readonly clientId: string;
  /** Epoch milliseconds: the client's own tokens issued at or before it are refused. */
  readonly revokedAtMs: number;
  /** Epoch milliseconds after which no such token can still be valid. */
  readonly untilMs: number;
}

/** Where a feed delivers what it learns. */
export interface RevocationSink {
  revoked(event: RevocationEvent): void;
  /** A client's own tokens were revoked; a sink that does not implement it ignores them. */
  clientRevoked?(event: ClientRevocationEvent): void;
  /**
   * The feed lost its source after it had caught up: revocations may be missed until it is back.
   * Feeds that can tell call it (the PostgreSQL feed does).
   */
  disconnected?(): void;
  /** The feed is back and has delivered every revocation in force again (its backfill). */
  caughtUp?(): void;
}

/**
 * Seam: how a guard learns of revocations. It must deliver every revocation still in force, also
 * those made while it was disconnected (backfill on start and after every reconnect). `start`
 * resolves once that first backfill is done, and rejects when its source cannot be reached:
 * `GatehouseAuthModule` then starts it again with backoff, and the app keeps running meanwhile.
 */
export interface RevocationFeed {
  start(sink: RevocationSink): Promise<void>;
  stop(): Promise<void>;
}

/** The PostgreSQL NOTIFY channel auth-api publishes on, in the transaction that revokes. */
export const REVOCATION_CHANNEL = 'gatehouse_revocations';
