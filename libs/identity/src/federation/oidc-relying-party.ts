import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import type { IdentityProvider } from '@gatehouse/persistence';
import * as oidc from 'openid-client';

import { Clock } from '../clock.js';
import { IdentityProviderService, insecureIssuerAllowed } from './identity-provider.service.js';
import { oidcConfig } from './provider-config.js';

/** Discovered metadata (and the upstream's JWKS openid-client caches with it) is reused this long. */
export const DISCOVERY_TTL_SECONDS = 600;
/** Each request to an upstream gives up after this long. */
const UPSTREAM_TIMEOUT_SECONDS = 10;

/** The upstream could not be reached, or answered its discovery with something unusable. */
export class UpstreamUnavailableError extends Error {}

/** Claims of the upstream account, validated by openid-client. */
export interface UpstreamAccount {
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** From the ID token (RFC 8176), when the upstream said. */
  readonly amr: readonly string[];
}

export interface UpstreamRedirect {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

interface Discovered {
  readonly configuration: oidc.Configuration;
  /** A changed provider (new issuer, secret…) is discovered again. */
  readonly version: number;
  readonly expiresAt: number;
}

/**
 * Gatehouse as an OpenID Connect relying party of an upstream provider (openid-client): discovery
 * cached per provider, authorization code with PKCE S256, `state` and `nonce`, and the ID token
 * validated against the upstream's JWKS (signature, `iss`, `aud`, `exp`, `nonce`) by the library.
 */
@Injectable()
export class OidcRelyingParty {
  private readonly discovered = new Map<string, Discovered>();
  private readonly environment: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly providers: IdentityProviderService,
    private readonly clock: Clock,
  ) {
    this.environment = config.environment;
  }

  /** The upstream authorization URL for a new redirect (the caller stores the checks). */
  async authorizationUrl(provider: IdentityProvider, redirect: UpstreamRedirect): Promise<URL> {
    const configuration = await this.configuration(provider);
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.providers.redirectUri(provider.slug),
      scope: oidcConfig(provider).scopes.join(' '),
      state: redirect.state,
      nonce: redirect.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(redirect.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Redeems the code of the callback and validates everything openid-client checks: the state, the
   * `iss` of the response (RFC 9207) when given, the ID token (signature from the JWKS, issuer,
   * audience, expiry, nonce). Claims missing from the ID token are read from the userinfo endpoint.
   * Throws UpstreamUnavailableError when the upstream cannot be reached, else openid-client's error.
   */
  async redeem(
    provider: IdentityProvider,
    callbackQuery: string,
    redirect: UpstreamRedirect,
  ): Promise<UpstreamAccount> {
    const configuration = await this.configuration(provider);
    const currentUrl = new URL(this.providers.redirectUri(provider.slug));
    currentUrl.search = callbackQuery;
    const tokens = await oidc
      .authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: redirect.codeVerifier,
        expectedState: redirect.state,
        expectedNonce: redirect.nonce,
        idTokenExpected: true,
      })
      .catch(unreachable);
    const idToken = tokens.claims();
    if (!idToken) {
      throw new Error('No ID token.');
    }
    let claims: Record<string, unknown> = { ...idToken };
    const mapping = provider.config.claimMapping;
    if (claims[mapping.email] === undefined && configuration.serverMetadata().userinfo_endpoint) {
      const userinfo = await oidc
        .fetchUserInfo(configuration, tokens.access_token, idToken.sub)
        .catch(unreachable);
      // The ID token wins where both say something.
      claims = { ...userinfo, ...claims };
    }
    const amr = Array.isArray(idToken.amr)
      ? idToken.amr.filter((value) => typeof value === 'string')
      : [];
    return { subject: idToken.sub, claims, amr };
  }

  private async configuration(provider: IdentityProvider): Promise<oidc.Configuration> {
    const now = this.clock.now().getTime();
    const version = provider.updatedAt.getTime();
    const cached = this.discovered.get(provider.id);
    if (cached && cached.version === version && cached.expiresAt > now) {
      return cached.configuration;
    }
    const issuer = new URL(oidcConfig(provider).issuer);
    const insecure = insecureIssuerAllowed(issuer, this.environment);
    if (issuer.protocol !== 'https:' && !insecure) {
      throw new UpstreamUnavailableError('The issuer is not an https URL.');
    }
    const secret = this.providers.clientSecretOf(provider);
    const configuration = await oidc
      .discovery(
        issuer,
        oidcConfig(provider).clientId,
        secret ? { client_secret: secret } : undefined,
        secret ? oidc.ClientSecretPost(secret) : oidc.None(),
        {
          timeout: UPSTREAM_TIMEOUT_SECONDS,
          // Not only TLS: the ID token's signature is checked against the upstream's JWKS, even
          // though it comes straight from the token endpoint (OIDC Core 3.1.3.7 would allow less).
          execute: insecure
            ? [oidc.enableNonRepudiationChecks, oidc.allowInsecureRequests]
            : [oidc.enableNonRepudiationChecks],
        },
      )
      .catch(() => {
        throw new UpstreamUnavailableError('Discovery failed.');
      });
    this.discovered.set(provider.id, {
      configuration,
      version,
      expiresAt: now + DISCOVERY_TTL_SECONDS * 1000,
    });
    return configuration;
  }
}

/** Network failures and timeouts are the upstream's unavailability; anything else is a refusal. */
function unreachable(error: unknown): never {
  const name = (error as { name?: unknown } | null)?.name;
  const cause = (error as { cause?: { name?: unknown } } | null)?.cause?.name;
  if (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    (error instanceof TypeError && String(error.message).includes('fetch failed')) ||
    cause === 'TimeoutError'
  ) {
    throw new UpstreamUnavailableError('The upstream could not be reached.');
  }
  throw error;
}
