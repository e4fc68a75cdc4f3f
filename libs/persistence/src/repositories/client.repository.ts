import type { EntityManager } from 'typeorm';

import type { Client } from '../entities/client.entity.js';
import { named, select, updateReturning } from './returning.js';

export interface ClientChanges {
  readonly name?: string;
  readonly grantTypes?: readonly string[];
  readonly scopes?: readonly string[];
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly requireConsent?: boolean;
  readonly requireState?: boolean;
  readonly firstParty?: boolean;
  readonly resourceServer?: boolean;
  /** null clears it. */
  readonly audience?: string | null;
  /** null clears it. */
  readonly backchannelLogoutUri?: string | null;
  readonly backchannelLogoutSessionRequired?: boolean;
}

export interface NewClient {
  readonly id: string;
  readonly name: string;
  readonly secretHash: Buffer | null;
  readonly grantTypes: readonly string[];
  readonly scopes: readonly string[];
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly firstParty: boolean;
  /** Default true: a third-party client's users see the consent page. */
  readonly requireConsent?: boolean;
  /** Default false. */
  readonly requireState?: boolean;
  /** Default false: may introspect tokens (RFC 7662 §2.1). */
  readonly resourceServer?: boolean;
  /** A resource server's resource indicator (RFC 8707). */
  readonly audience?: string | null;
  /** OpenID Connect Back-Channel Logout 1.0. */
  readonly backchannelLogoutUri?: string | null;
  readonly backchannelLogoutSessionRequired?: boolean;
}

const COLUMNS = `id, name, secret_hash AS "secretHash", grant_types AS "grantTypes",
  redirect_uris AS "redirectUris", post_logout_redirect_uris AS "postLogoutRedirectUris", scopes, first_party AS "firstParty",
  require_consent AS "requireConsent", require_state AS "requireState",
  resource_server AS "resourceServer", audience, backchannel_logout_uri AS "backchannelLogoutUri",
  backchannel_logout_session_required AS "backchannelLogoutSessionRequired",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Every token request authenticates its client with this one. */
const FIND_CLIENT = named('find_client', `SELECT ${COLUMNS} FROM clients WHERE id = $1`);

export class ClientRepository {
  constructor(private readonly manager: EntityManager) {}

  async findById(id: string): Promise<Client | null> {
    const rows = await select<Client>(this.manager, FIND_CLIENT, [id]);
    return rows[0] ?? null;
  }

  async insert(client: NewClient): Promise<Client> {
    const rows: Client[] = await this.manager.query(
      `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, redirect_uris, first_party,
         require_consent, require_state, post_logout_redirect_uris, resource_server, audience,
         backchannel_logout_uri, backchannel_logout_session_required)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING ${COLUMNS}`,
      [
        client.id,
        client.name,
        client.secretHash,
        client.grantTypes,
        client.scopes,
        client.redirectUris ?? [],
        client.firstParty,
        client.requireConsent ?? true,
        client.requireState ?? false,
        client.postLogoutRedirectUris ?? [],
        client.resourceServer ?? false,
        client.audience ?? null,
        client.backchannelLogoutUri ?? null,
        client.backchannelLogoutSessionRequired ?? false,
      ],
    );
    return rows[0]!;
  }

  /** Creates the client unless one with that id exists (start-up of several instances at once). */
  async insertUnlessExists(client: NewClient): Promise<void> {
    await this.manager.query(
      `INSERT INTO clients (id, name, secret_hash, grant_types, scopes, redirect_uris, first_party,
         require_consent, require_state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT ON CONSTRAINT clients_pkey DO NOTHING`,
      [
        client.id,
        client.name,
        client.secretHash,
        client.grantTypes,
        client.scopes,
        client.redirectUris ?? [],
        client.firstParty,
        client.requireConsent ?? true,
        client.requireState ?? false,
      ],
    );
  }

  /** Whether `audience` is the resource indicator of a registered resource server. */
  async isResourceIndicator(audience: string): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
      'SELECT 1 FROM clients WHERE audience = $1 AND resource_server',
      [audience],
    );
    return rows.length > 0;
  }

  list(): Promise<Client[]> {
    return this.manager.query(`SELECT ${COLUMNS} FROM clients ORDER BY created_at DESC, id`);
  }

  async update(id: string, changes: ClientChanges): Promise<Client | null> {
    const rows = await updateReturning<Client>(
      this.manager,
      `UPDATE clients SET name = COALESCE($2, name), grant_types = COALESCE($3, grant_types),
         scopes = COALESCE($4, scopes), redirect_uris = COALESCE($5, redirect_uris),
         require_consent = COALESCE($6, require_consent),
         require_state = COALESCE($7, require_state),
         post_logout_redirect_uris = COALESCE($8, post_logout_redirect_uris),
         first_party = COALESCE($9, first_party), resource_server = COALESCE($10, resource_server),
         audience = CASE WHEN $11 THEN $12 ELSE audience END,
         backchannel_logout_uri = CASE WHEN $13 THEN $14 ELSE backchannel_logout_uri END,
         backchannel_logout_session_required =
           COALESCE($15, backchannel_logout_session_required),
         updated_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        id,
        changes.name ?? null,
        changes.grantTypes ?? null,
        changes.scopes ?? null,
        changes.redirectUris ?? null,
        changes.requireConsent ?? null,
        changes.requireState ?? null,
        changes.postLogoutRedirectUris ?? null,
        changes.firstParty ?? null,
        changes.resourceServer ?? null,
        changes.audience !== undefined,
        changes.audience ?? null,
        changes.backchannelLogoutUri !== undefined,
        changes.backchannelLogoutUri ?? null,
        changes.backchannelLogoutSessionRequired ?? null,
      ],
    );
    return rows[0] ?? null;
  }

  async setSecretHash(id: string, secretHash: Buffer): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      'UPDATE clients SET secret_hash = $2, updated_at = now() WHERE id = $1 RETURNING id',
      [id, secretHash],
    );
    return rows.length > 0;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await updateReturning(
      this.manager,
      'DELETE FROM clients WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }
}
