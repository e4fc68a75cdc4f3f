import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type FederationLinking,
  type FederationProvisioning,
  type IdentityProvider,
  type OidcProviderConfig,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  IdentityProviderNotFoundError,
  IdentityProviderSlugTakenError,
  ValidationFailedError,
} from '../identity.errors.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';

/** What operators give to register an OpenID Connect provider. */
export interface OidcProviderInput {
  readonly slug: string;
  readonly displayName: string;
  readonly enabled?: boolean;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly scopes?: readonly string[];
  readonly trustEmailVerified?: boolean;
  readonly linking?: FederationLinking;
  readonly provisioning?: FederationProvisioning;
  readonly allowedEmailDomains?: readonly string[];
  readonly claimMapping?: { readonly email?: string; readonly emailVerified?: string };
}

/** A change: absent fields stay; `clientSecret: null` removes the secret (a public client). */
export type OidcProviderChanges = Partial<Omit<OidcProviderInput, 'slug' | 'clientSecret'>> & {
  readonly clientSecret?: string | null;
};

/** A provider as operators see it: never its secret, only whether it has one. */
export interface IdentityProviderView {
  readonly id: string;
  readonly slug: string;
  readonly type: 'oidc' | 'saml';
  readonly displayName: string;
  readonly enabled: boolean;
  readonly issuer: string;
  readonly clientId: string;
  readonly hasClientSecret: boolean;
  readonly scopes: readonly string[];
  readonly trustEmailVerified: boolean;
  readonly linking: FederationLinking;
  readonly provisioning: FederationProvisioning;
  readonly allowedEmailDomains: readonly string[];
  readonly claimMapping: { readonly email: string; readonly emailVerified: string };
  /** Where the upstream must send the browser back: register it there. */
  readonly redirectUri: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
const DEFAULT_CLAIMS = { email: 'email', emailVerified: 'email_verified' };
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** `http:` only for a loopback upstream outside production (tests, a local Keycloak). */
export function insecureIssuerAllowed(issuer: URL, environment: string): boolean {
  return (
    issuer.protocol === 'http:' &&
    LOOPBACK_HOSTS.has(issuer.hostname) &&
    environment !== 'production'
  );
}

/**
 * The upstream identity providers operators register (`/admin/identity-providers`). A client secret is
 * sealed under KEY_ENCRYPTION_KEY with the provider id as additional data, and never returned.
 */
@Injectable()
export class IdentityProviderService {
  private readonly secretsKey: Buffer;
  private readonly issuer: string;
  private readonly environment: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {
    if (!config.keys.encryptionKey) {
      throw new Error('KEY_ENCRYPTION_KEY is not set: provider secrets cannot be stored or read.');
    }
    this.secretsKey = deriveKey(config.keys.encryptionKey, 'identity-provider-secrets');
    this.issuer = config.issuer.replace(/\/+$/, '');
    this.environment = config.environment;
  }

  async create(input: OidcProviderInput, actor: string): Promise<IdentityProviderView> {
    const id = randomUUID();
    const config = this.validConfig(input, null);
    const now = this.clock.now();
    const provider = await this.database.transaction(async (repositories) => {
      const created = await repositories.identityProviders.create({
        id,
        slug: input.slug,
        type: 'oidc',
        displayName: input.displayName,
        enabled: input.enabled ?? true,
        config,
        clientSecretSealed: input.clientSecret ? this.sealSecret(id, input.clientSecret) : null,
        at: now,
      });
      if (!created) {
        throw new IdentityProviderSlugTakenError();
      }
      await this.audit.record(repositories, {
        actor,
        action: 'admin.identity_provider_created',
        subject: `identity_provider:${id}`,
        details: { slug: input.slug, issuer: config.issuer, enabled: created.enabled },
      });
      return created;
    });
    return this.view(provider);
  }

  async list(): Promise<IdentityProviderView[]> {
    return (await this.database.identityProviders.list()).map((provider) => this.view(provider));
  }

  async get(id: string): Promise<IdentityProviderView> {
    return this.view(await this.find(id));
  }

  async update(
    id: string,
    changes: OidcProviderChanges,
    actor: string,
  ): Promise<IdentityProviderView> {
    const provider = await this.database.transaction(async (repositories) => {
      const current = await this.find(id, repositories.identityProviders);
      const config = this.validConfig({ ...this.input(current), ...changes }, current.config);
      const updated = await repositories.identityProviders.update(
        id,
        {
          displayName: changes.displayName,
          enabled: changes.enabled,
          config,
          clientSecretSealed:
            changes.clientSecret === undefined
              ? undefined
              : changes.clientSecret === null
                ? null
                : this.sealSecret(id, changes.clientSecret),
        },
        this.clock.now(),
      );
      if (!updated) {
        throw new IdentityProviderNotFoundError();
      }
      await this.audit.record(repositories, {
        actor,
        action: 'admin.identity_provider_updated',
        subject: `identity_provider:${id}`,
        // Which fields changed, never their values (the secret least of all).
        details: { slug: updated.slug, fields: Object.keys(changes).sort() },
      });
      return updated;
    });
    return this.view(provider);
  }

  async delete(id: string, actor: string): Promise<void> {
    await this.database.transaction(async (repositories) => {
      const current = await this.find(id, repositories.identityProviders);
      await repositories.identityProviders.delete(id);
      await this.audit.record(repositories, {
        actor,
        action: 'admin.identity_provider_deleted',
        subject: `identity_provider:${id}`,
        details: { slug: current.slug },
      });
    });
  }

  /** The enabled OIDC provider with this slug, for the relying party; null otherwise. */
  async findEnabled(slug: string): Promise<IdentityProvider | null> {
    if (!/^[a-z0-9-]{1,64}$/.test(slug)) {
      return null;
    }
    const provider = await this.database.identityProviders.findBySlug(slug);
    return provider?.enabled && provider.type === 'oidc' ? provider : null;
  }

  /** The buttons of the sign-in page. */
  async listEnabled(): Promise<{ slug: string; displayName: string }[]> {
    return (await this.database.identityProviders.list())
      .filter((provider) => provider.enabled && provider.type === 'oidc')
      .map(({ slug, displayName }) => ({ slug, displayName }));
  }

  clientSecretOf(provider: IdentityProvider): string | undefined {
    return provider.clientSecretSealed
      ? open(this.secretsKey, provider.clientSecretSealed, provider.id).toString('utf8')
      : undefined;
  }

  redirectUri(slug: string): string {
    return `${this.issuer}/federation/${slug}/callback`;
  }

  private async find(
    id: string,
    providers = this.database.identityProviders,
  ): Promise<IdentityProvider> {
    const provider = /^[0-9a-f-]{36}$/i.test(id) ? await providers.findById(id) : null;
    if (!provider) {
      throw new IdentityProviderNotFoundError();
    }
    return provider;
  }

  private sealSecret(id: string, secret: string): Buffer {
    return seal(this.secretsKey, Buffer.from(secret, 'utf8'), id);
  }

  private input(provider: IdentityProvider): OidcProviderInput {
    return { slug: provider.slug, displayName: provider.displayName, ...provider.config };
  }

  /** The stored settings, with defaults; the rules class-validator cannot know (environment). */
  private validConfig(
    input: Omit<OidcProviderInput, 'clientSecret'>,
    current: OidcProviderConfig | null,
  ): OidcProviderConfig {
    let issuer: URL | null = null;
    try {
      issuer = new URL(input.issuer);
    } catch {
      issuer = null;
    }
    const issuerOk =
      issuer !== null &&
      !issuer.search &&
      !issuer.hash &&
      !issuer.username &&
      (issuer.protocol === 'https:' || insecureIssuerAllowed(issuer, this.environment));
    if (!issuerOk) {
      throw new ValidationFailedError([
        {
          field: 'issuer',
          messages: [
            'issuer must be an https URL without query or fragment (http only for a loopback host outside production)',
          ],
        },
      ]);
    }
    const scopes = [...new Set(input.scopes ?? current?.scopes ?? DEFAULT_SCOPES)];
    if (!scopes.includes('openid')) {
      throw new ValidationFailedError([
        { field: 'scopes', messages: ['scopes must include openid'] },
      ]);
    }
    return {
      // Exactly as given: discovery checks that the upstream's metadata names this very issuer.
      issuer: input.issuer,
      clientId: input.clientId,
      scopes,
      trustEmailVerified: input.trustEmailVerified ?? current?.trustEmailVerified ?? false,
      linking: input.linking ?? current?.linking ?? 'none',
      provisioning: input.provisioning ?? current?.provisioning ?? 'create',
      allowedEmailDomains: [
        ...new Set(
          (input.allowedEmailDomains ?? current?.allowedEmailDomains ?? []).map((domain) =>
            domain.toLowerCase(),
          ),
        ),
      ],
      claimMapping: { ...DEFAULT_CLAIMS, ...current?.claimMapping, ...input.claimMapping },
    };
  }

  private view(provider: IdentityProvider): IdentityProviderView {
    const { config } = provider;
    return {
      id: provider.id,
      slug: provider.slug,
      type: provider.type,
      displayName: provider.displayName,
      enabled: provider.enabled,
      issuer: config.issuer,
      clientId: config.clientId,
      hasClientSecret: provider.clientSecretSealed !== null,
      scopes: config.scopes,
      trustEmailVerified: config.trustEmailVerified,
      linking: config.linking,
      provisioning: config.provisioning,
      allowedEmailDomains: config.allowedEmailDomains,
      claimMapping: config.claimMapping,
      redirectUri: this.redirectUri(provider.slug),
      createdAt: provider.createdAt,
      updatedAt: provider.updatedAt,
    };
  }
}
