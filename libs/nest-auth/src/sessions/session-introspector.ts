/** The answer about a session cookie: the caller behind it, or why there is none. */
export type SessionIntrospection =
  | {
      readonly active: true;
      readonly sessionId: string;
      readonly userId: string;
      readonly roles: readonly string[];
      /** When the user signed in to this session (`Caller.authenticatedAt`), if known. */
      readonly authenticatedAt?: Date | null;
      /** How (RFC 8176 `amr`), and its class (`acr`), if known: `@RequireMfa()` judges `acr`. */
      readonly amr?: readonly string[];
      readonly acr?: string | null;
      /**
       * Whatever else the introspector knows and the app may want (`Caller.details`): auth-api attaches
       * the session row and its user, so `GET /me` needs no second query.
       */
      readonly details?: unknown;
    }
  | { readonly active: false; readonly reason: 'expired' | 'revoked' | 'unknown' };

/**
 * Seam: validates a session cookie value. auth-api answers in-process from its tables; a sibling app
 * asks auth-api over HTTP.
 */
export interface SessionIntrospector {
  introspect(token: string): Promise<SessionIntrospection>;
  /**
   * Optional: the answer `introspect` would give, without a promise, when the introspector can give
   * it from memory alone (an active session it holds and has nothing to do for); undefined otherwise.
   * The guard still checks the revocation list, and asks `introspect` whenever this says nothing.
   */
  recall?(token: string): SessionIntrospection | undefined;
  /** Called with every revoked session from the revocation feed (cached answers must go). */
  evict?(sessionId: string): void;
}
