import { randomBytes } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import type { IdentityProvider, SamlProviderConfig } from '@gatehouse/persistence';
import { type CacheProvider, type Profile, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';

import { samlConfig } from './provider-config.js';

/** Clocks of the IdP and ours may differ this much for NotBefore / NotOnOrAfter. */
export const SAML_CLOCK_SKEW_MS = 60_000;
/** An assertion without NotOnOrAfter is remembered (for replay) this long. */
const ASSERTION_ID_DEFAULT_TTL_MS = 60 * 60 * 1000;
/** Longer subjects or assertion IDs are refused (the columns and a sane IdP stay below). */
const MAX_SUBJECT_LENGTH = 255;
const MAX_RESPONSE_LENGTH = 512 * 1024;

const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Which check a SAML response failed: for the audit log, never for the browser. */
export type SamlCheck =
  | 'malformed'
  | 'signature'
  | 'in_response_to'
  | 'audience'
  | 'expired'
  | 'recipient'
  | 'destination'
  | 'issuer'
  | 'status'
  | 'subject';

export class SamlResponseRefused extends Error {
  constructor(readonly check: SamlCheck) {
    super(`SAML response refused: ${check}`);
  }
}

/** What a valid, signed assertion says about the user. */
export interface SamlAccount {
  readonly subject: string;
  readonly email: string | null;
  readonly assertionId: string;
  /** Until when the assertion could be replayed: its ID is remembered until then. */
  readonly expiresAt: Date;
}

/** Node-saml's cache for `InResponseTo`: only the request ID stored with this very state. */
function singleRequestCache(requestId: string | null): CacheProvider {
  return {
    saveAsync: () => Promise.resolve(null),
    getAsync: (key) =>
      Promise.resolve(requestId !== null && key === requestId ? new Date().toISOString() : null),
    removeAsync: () => Promise.resolve(null),
  };
}

const attribute = (value: unknown): string | null => {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof first === 'string' ? first.trim() : null;
};

/**
 * The SAML 2.0 service provider (issue 20) on `@node-saml/node-saml`: AuthnRequests by HTTP-Redirect,
 * and responses by HTTP-POST at the ACS, where the assertion must be signed by one of the provider's
 * certificates (a signed response around an unsigned assertion is not enough), name our entity ID as
 * audience and our ACS as recipient (and destination, when the response says one), be within its time
 * window (± {@link SAML_CLOCK_SKEW_MS}) and answer the request stored with the state.
 */
@Injectable()
export class SamlServiceProvider {
  private readonly issuer: string;

  constructor(@InjectConfig() config: GatehouseConfig) {
    this.issuer = config.issuer.replace(/\/+$/, '');
  }

  acsUrl(slug: string): string {
    return `${this.issuer}/federation/${slug}/saml/acs`;
  }

  metadataUrl(slug: string): string {
    return `${this.issuer}/federation/${slug}/saml/metadata`;
  }

  entityId(provider: { slug: string; config: SamlProviderConfig }): string {
    return provider.config.spEntityId ?? this.metadataUrl(provider.slug);
  }

  /** A new AuthnRequest: the IdP's URL to redirect to, and the request's ID to store. */
  async authorizeRedirect(
    provider: IdentityProvider,
    relayState: string,
  ): Promise<{ location: string; requestId: string }> {
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const location = await this.saml(provider, requestId).getAuthorizeUrlAsync(
      relayState,
      undefined,
      {},
    );
    return { location, requestId };
  }

  /** Our SP metadata, to give the IdP (entity ID, ACS with the HTTP-POST binding). */
  metadata(provider: IdentityProvider): string {
    return this.saml(provider, null).generateServiceProviderMetadata(null, null);
  }

  /** Validates a posted `SAMLResponse`; refuses with the failed check. */
  async validate(
    provider: IdentityProvider,
    samlResponse: string,
    requestId: string | null,
  ): Promise<SamlAccount> {
    const config = samlConfig(provider);
    if (samlResponse.length > MAX_RESPONSE_LENGTH || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) {
      throw new SamlResponseRefused('malformed');
    }
    this.checkDestination(provider.slug, samlResponse);
    let profile: Profile | null;
    try {
      ({ profile } = await this.saml(provider, requestId).validatePostResponseAsync({
        SAMLResponse: samlResponse,
      }));
    } catch (error) {
      throw new SamlResponseRefused(checkOf(error));
    }
    if (!profile) {
      throw new SamlResponseRefused('malformed');
    }
    const assertion = (profile.getAssertion?.() as { Assertion?: SamlAssertionJs } | undefined)
      ?.Assertion;
    const assertionId = assertion?.$?.ID;
    if (!assertion || typeof assertionId !== 'string' || assertionId.length > 256) {
      throw new SamlResponseRefused('malformed');
    }
    this.checkRecipient(provider.slug, assertion);
    const subject = profile.nameID;
    if (
      typeof subject !== 'string' ||
      subject.length === 0 ||
      subject.length > MAX_SUBJECT_LENGTH ||
      profile.nameIDFormat === NAMEID_TRANSIENT
    ) {
      // A transient NameID changes at every sign-in: it cannot identify an account.
      throw new SamlResponseRefused('subject');
    }
    const email =
      profile.nameIDFormat === NAMEID_EMAIL
        ? subject
        : (attribute(
            (profile.attributes as Record<string, unknown> | undefined)?.[
              config.claimMapping.email
            ],
          ) ?? attribute(profile.email));
    return {
      subject,
      email,
      assertionId,
      expiresAt: expiryOf(assertion),
    };
  }

  /** `Destination` is optional on an unsigned response; when present it must be our ACS. */
  private checkDestination(slug: string, samlResponse: string): void {
    let destination: string | null = null;
    try {
      const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
      const root = new DOMParser({ errorHandler: {} }).parseFromString(xml, 'text/xml')
        .documentElement as unknown as { getAttribute(name: string): string | null } | null;
      destination = root?.getAttribute('Destination') || null;
    } catch {
      throw new SamlResponseRefused('malformed');
    }
    if (destination !== null && destination !== this.acsUrl(slug)) {
      throw new SamlResponseRefused('destination');
    }
  }

  /** A bearer confirmation naming our ACS as its recipient (SAML profiles 4.1.4.2). */
  private checkRecipient(slug: string, assertion: SamlAssertionJs): void {
    const confirmations = assertion.Subject?.[0]?.SubjectConfirmation ?? [];
    const ours = confirmations.some(
      (confirmation) =>
        confirmation.$?.Method === BEARER &&
        confirmation.SubjectConfirmationData?.some(
          (data) => data.$?.Recipient === this.acsUrl(slug),
        ),
    );
    if (!ours) {
      throw new SamlResponseRefused('recipient');
    }
  }

  private saml(provider: IdentityProvider, requestId: string | null): SAML {
    const config = samlConfig(provider);
    return new SAML({
      entryPoint: config.entryPoint,
      issuer: this.entityId({ slug: provider.slug, config }),
      callbackUrl: this.acsUrl(provider.slug),
      audience: this.entityId({ slug: provider.slug, config }),
      idpCert: [...config.idpCerts],
      idpIssuer: config.idpEntityId ?? undefined,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: 60 * 60 * 1000,
      cacheProvider: singleRequestCache(requestId),
      generateUniqueId: () => requestId ?? `_${randomBytes(20).toString('hex')}`,
      acceptedClockSkewMs: SAML_CLOCK_SKEW_MS,
      // The IdP chooses the NameID format it is configured for (persistent preferred; transient refused).
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
    });
  }
}

interface SamlAssertionJs {
  readonly $?: { readonly ID?: unknown };
  readonly Conditions?: readonly { readonly $?: { readonly NotOnOrAfter?: string } }[];
  readonly Subject?: readonly {
    readonly SubjectConfirmation?: readonly {
      readonly $?: { readonly Method?: string };
      readonly SubjectConfirmationData?: readonly {
        readonly $?: { readonly Recipient?: string; readonly NotOnOrAfter?: string };
      }[];
    }[];
  }[];
}

/** The latest instant the assertion is valid at (plus skew): its ID is remembered until then. */
function expiryOf(assertion: SamlAssertionJs): Date {
  const instants = [
    assertion.Conditions?.[0]?.$?.NotOnOrAfter,
    ...(assertion.Subject?.[0]?.SubjectConfirmation ?? []).flatMap(
      (confirmation) =>
        confirmation.SubjectConfirmationData?.map((data) => data.$?.NotOnOrAfter) ?? [],
    ),
  ]
    .map((value) => (value ? Date.parse(value) : Number.NaN))
    .filter((value) => Number.isFinite(value));
  const latest =
    instants.length > 0 ? Math.max(...instants) : Date.now() + ASSERTION_ID_DEFAULT_TTL_MS;
  return new Date(latest + SAML_CLOCK_SKEW_MS);
}

/** Node-saml says what failed in its message only; the audit log gets a stable name for it. */
function checkOf(error: unknown): SamlCheck {
  const message = error instanceof Error ? error.message : '';
  if (/InResponseTo/i.test(message)) {
    return 'in_response_to';
  }
  if (/signature|signed/i.test(message)) {
    return 'signature';
  }
  if (/audience/i.test(message)) {
    return 'audience';
  }
  if (/expired|not yet valid|No valid subject confirmation/i.test(message)) {
    return 'expired';
  }
  if (/issuer/i.test(message)) {
    return 'issuer';
  }
  if (/SAML provider returned/i.test(message)) {
    return 'status';
  }
  return 'malformed';
}
