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

export interface RevocationSink {
  revoked(event: RevocationEvent): void;
}

/**
 * Seam: how a guard learns of revocations. It must deliver every revocation still in force, also
 * those made while it was disconnected (backfill on start and after every reconnect).
 */
export interface RevocationFeed {
  start(sink: RevocationSink): Promise<void>;
  stop(): Promise<void>;
}

/** The PostgreSQL NOTIFY channel auth-api publishes on, in the transaction that revokes. */
export const REVOCATION_CHANNEL = 'gatehouse_revocations';
