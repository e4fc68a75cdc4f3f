import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type FederationLinking,
  type FederationProvisioning,
  type IdentityProvider,
  type IdentityProviderConfig,
  type OidcProviderConfig,
  type SamlProviderConfig,
} from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import {
  IdentityProviderNotFoundError,
  IdentityProviderSlugTakenError,
  ValidationFailedError,
} from '../identity.errors.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';
import { fingerprintOf, parseCertificates, parseIdpMetadata } from './saml-metadata.js';

/** What operators give to register an OpenID Connect provider. */
export interface OidcProviderInput {
  readonly type?: 'oidc';
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

/**
 * What operators give to register a SAML 2.0 identity provider: its entry point and signing
 * certificates, given directly or read from its metadata XML (the direct ones win).
 */
export interface SamlProviderInput {
  readonly type: 'saml';
  readonly slug: string;
  readonly displayName: string;
  readonly enabled?: boolean;
  readonly entryPoint?: string;
  /** One or more PEM certificates. */
  readonly idpCert?: string;
  readonly idpMetadataXml?: string;
  /** Null: `{ISSUER}/federation/{slug}/saml/metadata`. */
  readonly spEntityId?: string | null;
  readonly trustEmailVerified?: boolean;
  readonly linking?: FederationLinking;
  readonly provisioning?: FederationProvisioning;
  readonly allowedEmailDomains?: readonly string[];
  readonly claimMapping?: { readonly email?: string; readonly name?: string };
}

export type SamlProviderChanges = Partial<Omit<SamlProviderInput, 'slug' | 'type'>>;

/** What operators give the SAML IdP, and what it gave us. */
export interface SamlProviderView {
  readonly entryPoint: string;
  readonly idpEntityId: string | null;
  /** SHA-256 fingerprints of the IdP's signing certificates. */
  readonly idpCertFingerprints: readonly string[];
  readonly spEntityId: string;
  readonly metadataUrl: string;
  readonly acsUrl: string;
}

/** A provider as operators see it: never its secret, only whether it has one. */
export interface IdentityProviderView {
  readonly id: string;
  readonly slug: string;
  readonly type: 'oidc' | 'saml';
  readonly displayName: string;
  readonly enabled: boolean;
  /** OIDC; null for SAML. */
  readonly issuer: string | null;
  readonly clientId: string | null;
  readonly hasClientSecret: boolean;
  readonly scopes: readonly string[];
  readonly trustEmailVerified: boolean;
  readonly linking: FederationLinking;
  readonly provisioning: FederationProvisioning;
  readonly allowedEmailDomains: readonly string[];
  readonly claimMapping: Readonly<Record<string, string>>;
  /** Where the upstream must send the browser back: register it there (SAML: the ACS URL). */
  readonly redirectUri: string;
  /** SAML only. */
  readonly saml: SamlProviderView | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
const DEFAULT_CLAIMS = { email: 'email', emailVerified: 'email_verified' };
const DEFAULT_SAML_ATTRIBUTES = { email: 'email', name: 'name' };
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

  async create(
    input: OidcProviderInput | SamlProviderInput,
    actor: string,
  ): Promise<IdentityProviderView> {
    const id = randomUUID();
    const config =
      input.type === 'saml' ? this.validSamlConfig(input, null) : this.validConfig(input, null);
    const clientSecret = input.type === 'saml' ? undefined : input.clientSecret;
    const now = this.clock.now();
    const provider = await this.database.transaction(async (repositories) => {
      const created = await repositories.identityProviders.create({
        id,
        slug: input.slug,
        type: input.type ?? 'oidc',
        displayName: input.displayName,
        enabled: input.enabled ?? true,
        config,
        clientSecretSealed: clientSecret ? this.sealSecret(id, clientSecret) : null,
        at: now,
      });
      if (!created) {
        throw new IdentityProviderSlugTakenError();
      }
      await this.audit.record(repositories, {
        actor,
        action: 'admin.identity_provider_created',
        subject: `identity_provider:${id}`,
        details: {
          slug: input.slug,
          type: created.type,
          ...(config.protocol === 'saml'
            ? { entryPoint: config.entryPoint }
            : { issuer: config.issuer }),
          enabled: created.enabled,
        },
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
    changes: OidcProviderChanges | SamlProviderChanges,
    actor: string,
  ): Promise<IdentityProviderView> {
    const provider = await this.database.transaction(async (repositories) => {
      const current = await this.find(id, repositories.identityProviders);
      let config: IdentityProviderConfig;
      if (current.config.protocol === 'saml') {
        if ('clientSecret' in changes && changes.clientSecret !== undefined) {
          throw new ValidationFailedError([
            { field: 'clientSecret', messages: ['a SAML provider has no client secret'] },
          ]);
        }
        config = this.validSamlConfig(
          {
            type: 'saml',
            slug: current.slug,
            displayName: current.displayName,
            ...(changes as SamlProviderChanges),
          },
          current.config,
        );
      } else {
        config = this.validConfig(
          { ...this.input(current, current.config), ...(changes as OidcProviderChanges) },
          current.config,
        );
      }
      const oidcChanges = changes as OidcProviderChanges;
      const updated = await repositories.identityProviders.update(
        id,
        {
          displayName: changes.displayName,
          enabled: changes.enabled,
          config,
          clientSecretSealed:
            oidcChanges.clientSecret === undefined
              ? undefined
              : oidcChanges.clientSecret === null
                ? null
                : this.sealSecret(id, oidcChanges.clientSecret),
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

  /** The enabled provider (OIDC or SAML: callers check the type) with this slug; null otherwise. */
  async findEnabled(slug: string): Promise<IdentityProvider | null> {
    if (!/^[a-z0-9-]{1,64}$/.test(slug)) {
      return null;
    }
    const provider = await this.database.identityProviders.findBySlug(slug);
    return provider?.enabled ? provider : null;
  }

  /** The buttons of the sign-in page. */
  async listEnabled(): Promise<{ slug: string; displayName: string }[]> {
    return (await this.database.identityProviders.list())
      .filter((provider) => provider.enabled)
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

  samlUrls(slug: string): { metadataUrl: string; acsUrl: string } {
    return {
      metadataUrl: `${this.issuer}/federation/${slug}/saml/metadata`,
      acsUrl: `${this.issuer}/federation/${slug}/saml/acs`,
    };
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

  private input(provider: IdentityProvider, config: OidcProviderConfig): OidcProviderInput {
    return { slug: provider.slug, displayName: provider.displayName, ...config };
  }

  /**
   * A SAML provider's settings: entry point and certificates given directly, else from the
   * metadata XML, else kept; the entry point https (http only on loopback outside production).
   */
  private validSamlConfig(
    input: SamlProviderInput,
    current: SamlProviderConfig | null,
  ): SamlProviderConfig {
    const invalid = (field: string, message: string): never => {
      throw new ValidationFailedError([{ field, messages: [message] }]);
    };
    const metadata =
      input.idpMetadataXml === undefined ? null : parseIdpMetadata(input.idpMetadataXml);
    if (input.idpMetadataXml !== undefined && !metadata) {
      invalid(
        'idpMetadataXml',
        'idpMetadataXml must be SAML metadata with an IDPSSODescriptor and valid certificates',
      );
    }
    const entryPoint =
      input.entryPoint ??
      metadata?.entryPoint ??
      current?.entryPoint ??
      invalid(
        'entryPoint',
        'entryPoint is required (or idpMetadataXml with an HTTP-Redirect SingleSignOnService)',
      );
    let url: URL | null;
    try {
      url = new URL(entryPoint);
    } catch {
      url = null;
    }
    if (
      !url ||
      url.hash ||
      url.username ||
      !(url.protocol === 'https:' || insecureIssuerAllowed(url, this.environment))
    ) {
      invalid(
        'entryPoint',
        'entryPoint must be an https URL without fragment (http only for a loopback host outside production)',
      );
    }
    let idpCerts: readonly string[] | null = null;
    if (input.idpCert !== undefined) {
      idpCerts = parseCertificates(input.idpCert);
      if (!idpCerts) {
        invalid('idpCert', 'idpCert must be one or more PEM certificates that parse');
      }
    } else if (metadata && metadata.certs.length > 0) {
      idpCerts = metadata.certs;
    } else {
      idpCerts = current?.idpCerts ?? null;
    }
    if (!idpCerts || idpCerts.length === 0) {
      invalid('idpCert', 'idpCert is required (or idpMetadataXml with a signing certificate)');
    }
    const spEntityId =
      input.spEntityId === undefined ? (current?.spEntityId ?? null) : input.spEntityId;
    if (spEntityId !== null && !/^[a-z][a-z0-9+.-]*:\S{1,500}$/i.test(spEntityId)) {
      invalid('spEntityId', 'spEntityId must be a URI');
    }
    return {
      protocol: 'saml',
      entryPoint,
      idpCerts: idpCerts!,
      idpEntityId: metadata ? metadata.entityId : (current?.idpEntityId ?? null),
      spEntityId,
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
      claimMapping: {
        ...DEFAULT_SAML_ATTRIBUTES,
        ...current?.claimMapping,
        ...input.claimMapping,
      },
    };
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
    const saml = config.protocol === 'saml' ? config : null;
    const oidc = config.protocol === 'saml' ? null : config;
    const samlUrls = this.samlUrls(provider.slug);
    return {
      id: provider.id,
      slug: provider.slug,
      type: provider.type,
      displayName: provider.displayName,
      enabled: provider.enabled,
      issuer: oidc?.issuer ?? null,
      clientId: oidc?.clientId ?? null,
      hasClientSecret: provider.clientSecretSealed !== null,
      scopes: oidc?.scopes ?? [],
      trustEmailVerified: config.trustEmailVerified,
      linking: config.linking,
      provisioning: config.provisioning,
      allowedEmailDomains: config.allowedEmailDomains,
      claimMapping: config.claimMapping,
      redirectUri: saml ? samlUrls.acsUrl : this.redirectUri(provider.slug),
      saml: saml && {
        entryPoint: saml.entryPoint,
        idpEntityId: saml.idpEntityId,
        idpCertFingerprints: saml.idpCerts.map(fingerprintOf),
        spEntityId: saml.spEntityId ?? samlUrls.metadataUrl,
        ...samlUrls,
      },
      createdAt: provider.createdAt,
      updatedAt: provider.updatedAt,
    };
  }
}
