import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';

export type IdentityProviderType = 'oidc' | 'saml';

/** How a first sign-in through a provider may find an existing account. */
export type FederationLinking = 'verified-email' | 'none';
/** Whether a first sign-in without an account to link creates one. */
export type FederationProvisioning = 'create' | 'existing-only';

/** The settings of an OpenID Connect provider (the client secret is not here: it is sealed). */
export interface OidcProviderConfig {
  readonly protocol?: never;
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** Whether the provider's `email_verified` is believed (for linking and for the new user). */
  readonly trustEmailVerified: boolean;
  readonly linking: FederationLinking;
  readonly provisioning: FederationProvisioning;
  /** Lower-case domains; empty: any. */
  readonly allowedEmailDomains: readonly string[];
  /** Which upstream claim holds the email and the email_verified flag. */
  readonly claimMapping: { readonly email: string; readonly emailVerified: string };
}

/** The settings of a SAML 2.0 identity provider (`type` 'saml'); certificates are public. */
export interface SamlProviderConfig {
  readonly protocol: 'saml';
  /** Where AuthnRequests go (HTTP-Redirect binding). */
  readonly entryPoint: string;
  /** The IdP's signing certificates (PEM), any of which may sign assertions. */
  readonly idpCerts: readonly string[];
  /** The IdP's entity ID when known (from its metadata): the assertion's Issuer must then be it. */
  readonly idpEntityId: string | null;
  /** Our entity ID at the IdP; null: `{ISSUER}/federation/{slug}/saml/metadata`. */
  readonly spEntityId: string | null;
  /** Whether the IdP's email (NameID or attribute) is believed verified, for linking. */
  readonly trustEmailVerified: boolean;
  readonly linking: FederationLinking;
  readonly provisioning: FederationProvisioning;
  /** Lower-case domains; empty: any. */
  readonly allowedEmailDomains: readonly string[];
  /** Which attributes hold the email and the name (the email may also be the NameID). */
  readonly claimMapping: { readonly email: string; readonly name: string };
}

export type IdentityProviderConfig = OidcProviderConfig | SamlProviderConfig;

/**
 * An upstream identity provider operators registered: its type decides the shape of `config` (OIDC
 * today; a SAML provider keeps its entry point and certificate there). A secret is sealed under
 * `KEY_ENCRYPTION_KEY` (AES-256-GCM, the provider id as additional data), never stored in plain.
 */
@Entity('identity_providers')
@Unique('identity_providers_slug_key', ['slug'])
@Check('identity_providers_type_check', `"type" IN ('oidc', 'saml')`)
export class IdentityProvider {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'identity_providers_pkey' })
  id!: string;

  /** In the URLs: `/federation/{slug}/…`. */
  @Column({ type: 'varchar', length: 64 })
  slug!: string;

  @Column({ type: 'varchar', length: 16 })
  type!: IdentityProviderType;

  @Column({ type: 'varchar', length: 100 })
  displayName!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  /** Its `protocol` is 'saml' for a SAML provider, absent for OIDC (as `type` says). */
  @Column({ type: 'jsonb' })
  config!: IdentityProviderConfig;

  @Column({ type: 'bytea', nullable: true })
  clientSecretSealed!: Buffer | null;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'timestamptz' })
  updatedAt!: Date;
}
