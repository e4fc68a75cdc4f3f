import type { EntityManager } from 'typeorm';

import type {
  IdentityProvider,
  IdentityProviderType,
  IdentityProviderConfig,
} from '../entities/identity-provider.entity.js';
import { select, updateReturning } from './returning.js';

export interface NewIdentityProvider {
  readonly id: string;
  readonly slug: string;
  readonly type: IdentityProviderType;
  readonly displayName: string;
  readonly enabled: boolean;
  readonly config: IdentityProviderConfig;
  readonly clientSecretSealed: Buffer | null;
  readonly at: Date;
}

export interface IdentityProviderChanges {
  readonly displayName?: string;
  readonly enabled?: boolean;
  readonly config?: IdentityProviderConfig;
  /** Undefined: unchanged. */
  readonly clientSecretSealed?: Buffer | null;
}

const PROVIDER = `id, slug, type, display_name AS "displayName", enabled, config,
  client_secret_sealed AS "clientSecretSealed", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The upstream identity providers (`identity_providers`). */
export class IdentityProviderRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Null when the slug is taken. */
  async create(provider: NewIdentityProvider): Promise<IdentityProvider | null> {
    const rows = await select<IdentityProvider>(
      this.manager,
      `INSERT INTO identity_providers
         (id, slug, type, display_name, enabled, config, client_secret_sealed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
       ON CONFLICT ON CONSTRAINT identity_providers_slug_key DO NOTHING
       RETURNING ${PROVIDER}`,
      [
        provider.id,
        provider.slug,
        provider.type,
        provider.displayName,
        provider.enabled,
        JSON.stringify(provider.config),
        provider.clientSecretSealed,
        provider.at,
      ],
    );
    return rows[0] ?? null;
  }

  list(): Promise<IdentityProvider[]> {
    return select<IdentityProvider>(
      this.manager,
      `SELECT ${PROVIDER} FROM identity_providers ORDER BY slug`,
      [],
    );
  }

  async findById(id: string): Promise<IdentityProvider | null> {
    const rows = await select<IdentityProvider>(
      this.manager,
      `SELECT ${PROVIDER} FROM identity_providers WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async findBySlug(slug: string): Promise<IdentityProvider | null> {
    const rows = await select<IdentityProvider>(
      this.manager,
      `SELECT ${PROVIDER} FROM identity_providers WHERE slug = $1`,
      [slug],
    );
    return rows[0] ?? null;
  }

  async update(
    id: string,
    changes: IdentityProviderChanges,
    at: Date,
  ): Promise<IdentityProvider | null> {
    const rows = await updateReturning<IdentityProvider>(
      this.manager,
      `UPDATE identity_providers SET
         display_name = COALESCE($2, display_name),
         enabled = COALESCE($3, enabled),
         config = COALESCE($4::jsonb, config),
         client_secret_sealed = CASE WHEN $5::boolean THEN $6 ELSE client_secret_sealed END,
         updated_at = $7
       WHERE id = $1 RETURNING ${PROVIDER}`,
      [
        id,
        changes.displayName ?? null,
        changes.enabled ?? null,
        changes.config ? JSON.stringify(changes.config) : null,
        changes.clientSecretSealed !== undefined,
        changes.clientSecretSealed ?? null,
        at,
      ],
    );
    return rows[0] ?? null;
  }

  async delete(id: string): Promise<boolean> {
    const rows = await updateReturning<{ id: string }>(
      this.manager,
      'DELETE FROM identity_providers WHERE id = $1 RETURNING id',
      [id],
    );
    return rows.length > 0;
  }
}
