import type { EntityManager } from 'typeorm';

import { select } from './returning.js';

export class ConsentRepository {
  constructor(private readonly manager: EntityManager) {}

  /** The scopes the user has granted the client, or null if never asked. */
  async scopesGranted(userId: string, clientId: string): Promise<string[] | null> {
    const rows = await select<{ scopes: string[] }>(
      this.manager,
      'SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2',
      [userId, clientId],
    );
    return rows[0]?.scopes ?? null;
  }

  /** Adds scopes to what the user granted the client (a consent only ever widens). */
  async grant(
    userId: string,
    clientId: string,
    scopes: readonly string[],
    at: Date,
  ): Promise<void> {
    await this.manager.query(
      `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT ON CONSTRAINT consents_pkey DO UPDATE SET
         scopes = ARRAY(SELECT DISTINCT unnest(consents.scopes || EXCLUDED.scopes) ORDER BY 1),
         granted_at = EXCLUDED.granted_at`,
      [userId, clientId, [...new Set(scopes)].sort(), at],
    );
  }

  /** The user withdraws every consent given to the client. */
  async revoke(userId: string, clientId: string): Promise<boolean> {
    const rows = await select<{ user_id: string }>(
      this.manager,
      'DELETE FROM consents WHERE user_id = $1 AND client_id = $2 RETURNING user_id',
      [userId, clientId],
    );
    return rows.length > 0;
  }
}
