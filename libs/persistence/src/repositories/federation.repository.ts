import type { EntityManager } from 'typeorm';

import type { FederatedIdentity } from '../entities/federated-identity.entity.js';
import type { FederationState } from '../entities/federation-state.entity.js';
import { select, updateReturning } from './returning.js';

export type NewFederationState = FederationState;

/** A link as the user sees it: with the provider's names. */
export interface FederatedIdentityRow extends FederatedIdentity {
  readonly providerSlug: string;
  readonly providerDisplayName: string;
}

const IDENTITY = `i.id, i.user_id AS "userId", i.provider_id AS "providerId", i.subject, i.email,
  i.linked_at AS "linkedAt", i.last_sign_in_at AS "lastSignInAt",
  p.slug AS "providerSlug", p.display_name AS "providerDisplayName"`;

const STATE = `state_hash AS "stateHash", provider_id AS "providerId",
  code_verifier_sealed AS "codeVerifierSealed", nonce, interaction, device, return_to AS "returnTo",
  link_session_id AS "linkSessionId", saml_request_id AS "samlRequestId", created_at AS "createdAt", expires_at AS "expiresAt"`;

/** Links of upstream accounts to users, and redirects to an upstream waiting for their callback. */
export class FederationRepository {
  constructor(private readonly manager: EntityManager) {}

  async createState(state: NewFederationState): Promise<void> {
    await this.manager.query(
      `INSERT INTO federation_states (state_hash, provider_id, code_verifier_sealed, nonce,
         interaction, device, return_to, link_session_id, saml_request_id, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        state.stateHash,
        state.providerId,
        state.codeVerifierSealed,
        state.nonce,
        state.interaction,
        state.device,
        state.returnTo,
        state.linkSessionId,
        state.samlRequestId,
        state.createdAt,
        state.expiresAt,
      ],
    );
  }

  /** Deletes the state and returns it if it was still live: of two callbacks, one gets it. */
  async spendState(stateHash: Buffer, now: Date): Promise<FederationState | null> {
    const rows = await updateReturning<FederationState>(
      this.manager,
      `DELETE FROM federation_states WHERE state_hash = $1 RETURNING ${STATE}`,
      [stateHash],
    );
    const state = rows[0];
    return state && state.expiresAt > now ? state : null;
  }

  async deleteExpiredStates(now: Date): Promise<void> {
    await this.manager.query('DELETE FROM federation_states WHERE expires_at <= $1', [now]);
  }

  /**
   * Records a SAML assertion ID (its SHA-256) until the assertion expires; false when the provider
   * already sent it and it has not expired yet (a replay). Of two concurrent posts, one gets true.
   */
  async acceptSamlAssertion(
    providerId: string,
    assertionIdHash: Buffer,
    expiresAt: Date,
    now: Date,
  ): Promise<boolean> {
    const rows = await select<{ accepted: number }>(
      this.manager,
      `INSERT INTO saml_assertion_ids (provider_id, assertion_id_hash, expires_at)
       VALUES ($1, $2, $3)
       ON CONFLICT ON CONSTRAINT saml_assertion_ids_pkey DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE saml_assertion_ids.expires_at <= $4
       RETURNING 1 AS accepted`,
      [providerId, assertionIdHash, expiresAt, now],
    );
    return rows.length === 1;
  }

  async deleteExpiredSamlAssertions(now: Date): Promise<void> {
    await this.manager.query('DELETE FROM saml_assertion_ids WHERE expires_at <= $1', [now]);
  }

  async findIdentity(providerId: string, subject: string): Promise<FederatedIdentityRow | null> {
    const rows = await select<FederatedIdentityRow>(
      this.manager,
      `SELECT ${IDENTITY} FROM federated_identities i JOIN identity_providers p ON p.id = i.provider_id
       WHERE i.provider_id = $1 AND i.subject = $2`,
      [providerId, subject],
    );
    return rows[0] ?? null;
  }

  listIdentities(userId: string): Promise<FederatedIdentityRow[]> {
    return select<FederatedIdentityRow>(
      this.manager,
      `SELECT ${IDENTITY} FROM federated_identities i JOIN identity_providers p ON p.id = i.provider_id
       WHERE i.user_id = $1 ORDER BY i.linked_at, i.id`,
      [userId],
    );
  }

  /** Null when (provider, subject) is already linked (to anyone). */
  async link(identity: {
    readonly userId: string;
    readonly providerId: string;
    readonly subject: string;
    readonly email: string | null;
    readonly at: Date;
  }): Promise<FederatedIdentity | null> {
    const rows = await select<FederatedIdentity>(
      this.manager,
      `INSERT INTO federated_identities (user_id, provider_id, subject, email, linked_at, last_sign_in_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT ON CONSTRAINT federated_identities_provider_id_subject_key DO NOTHING
       RETURNING id, user_id AS "userId", provider_id AS "providerId", subject, email,
         linked_at AS "linkedAt", last_sign_in_at AS "lastSignInAt"`,
      [identity.userId, identity.providerId, identity.subject, identity.email, identity.at],
    );
    return rows[0] ?? null;
  }

  async recordSignIn(id: string, email: string | null, at: Date): Promise<void> {
    await this.manager.query(
      'UPDATE federated_identities SET last_sign_in_at = $2, email = COALESCE($3, email) WHERE id = $1',
      [id, at, email],
    );
  }

  async unlink(userId: string, id: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      'DELETE FROM federated_identities WHERE id = $1 AND user_id = $2 RETURNING id',
      [id, userId],
    );
    return rows.length > 0;
  }
}
