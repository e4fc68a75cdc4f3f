import { createHash, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  Database,
  type FederationState,
  type IdentityProvider,
  type Repositories,
  type User,
} from '@gatehouse/persistence';
import * as oidc from 'openid-client';

import { AuditService } from '../audit/audit.service.js';
import { INTERACTION_TTL_SECONDS } from '../authorization/interaction-sealer.js';
import { Clock } from '../clock.js';
import {
  type FederationRefusal,
  FederatedIdentityNotFoundError,
  LastSignInMethodError,
  UserNotFoundError,
} from '../identity.errors.js';
import type { SignIn } from '../mfa/mfa.service.js';
import { deriveKey, open, seal } from '../signing-keys/key-encryption.js';
import { normalizeEmail } from '../users/email.js';
import { IdentityProviderService } from './identity-provider.service.js';
import { OidcRelyingParty, UpstreamUnavailableError } from './oidc-relying-party.js';
import { oidcConfig } from './provider-config.js';
import { SamlResponseRefused, SamlServiceProvider } from './saml-service-provider.js';

/** Where a federated sign-in goes on once it succeeded (or failed). */
export interface FederationNext {
  /** The sealed authorization request the sign-in page was for. */
  readonly interaction: string | null;
  /** The device page's code typed so far ('' for none), when the sign-in was for the device page. */
  readonly device: string | null;
  /** A path on our own origin. */
  readonly returnTo: string | null;
}

export interface FederationStart extends Partial<FederationNext> {
  /** Linking: the session that asked (the callback links to its user only in that same session). */
  readonly linkSession?: { readonly sessionId: string; readonly userId: string };
}

export type FederationOutcome =
  | { readonly status: 'signed-in'; readonly signIn: SignIn; readonly next: FederationNext }
  | { readonly status: 'linked'; readonly next: FederationNext }
  /**
   * REQUIRE_VERIFIED_EMAIL and the user's address is not verified (the provider is not trusted for
   * it): the user and the link exist, no session; the page offers the verification link, as after a
   * password. Audited as `federation.refused`, reason `email_not_verified`.
   */
  | { readonly status: 'unverified'; readonly userId: string; readonly next: FederationNext }
  | {
      readonly status: 'refused';
      readonly reason: FederationRefusal | 'upstream_unavailable';
      /** Null when the state was not ours: nothing is known about where the browser came from. */
      readonly next: FederationNext | null;
    };

export interface LinkedIdentity {
  readonly id: string;
  readonly provider: { readonly slug: string; readonly displayName: string };
  readonly email: string | null;
  readonly linkedAt: Date;
  readonly lastSignInAt: Date | null;
}

/** The state cookie and the row it points to live as long as an authorization interaction. */
export const FEDERATION_STATE_TTL_SECONDS = INTERACTION_TTL_SECONDS;

/** Who the upstream says signed in, whatever the protocol. */
interface UpstreamAccount {
  readonly subject: string;
  readonly email: { readonly address: string; readonly verified: boolean } | null;
}

/** Runs in the sign-in's transaction before the user is resolved (SAML: the assertion, once). */
type InTransaction = (repositories: Repositories) => Promise<void>;

class Refused extends Error {
  constructor(
    readonly reason: FederationRefusal | 'upstream_unavailable',
    readonly details: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

const hasControlCharacter = (value: string): boolean =>
  [...value].some((character) => character.charCodeAt(0) < 0x20 || character === '\u007f');

/** A path on our own origin: one leading slash, no scheme-relative `//`, no backslash, no control. */
export function ownPath(returnTo: string | undefined, issuer: string): string | null {
  if (!returnTo || returnTo.length > 2048) {
    return null;
  }
  try {
    const origin = new URL(issuer).origin;
    const url = new URL(returnTo, origin);
    if (url.origin !== origin || returnTo.includes('\\') || hasControlCharacter(returnTo)) {
      return null;
    }
    if (!returnTo.startsWith('/') && !returnTo.startsWith(`${origin}/`)) {
      return null;
    }
    return `${url.pathname}${url.search}`.startsWith('//') ? null : `${url.pathname}${url.search}`;
  } catch {
    return null;
  }
}

/**
 * Sign-in through an upstream identity provider, resolved to a local user: an existing link, else a
 * link by verified email when the provider is trusted for it, else a new user when the provider
 * provisions, else refused. Every refusal is audited with its reason (`federation.refused`).
 */
@Injectable()
export class FederationService {
  private readonly verifierKey: Buffer;
  private readonly issuer: string;
  private readonly requireVerifiedEmail: boolean;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly providers: IdentityProviderService,
    private readonly relyingParty: OidcRelyingParty,
    private readonly saml: SamlServiceProvider,
  ) {
    if (!config.keys.encryptionKey) {
      throw new Error('KEY_ENCRYPTION_KEY is not set: federation state cannot be sealed.');
    }
    this.verifierKey = deriveKey(config.keys.encryptionKey, 'federation-code-verifiers');
    this.issuer = config.issuer;
    this.requireVerifiedEmail = config.emailVerification.required;
  }

  listEnabledProviders(): Promise<{ slug: string; displayName: string }[]> {
    return this.providers.listEnabled();
  }

  /**
   * A new redirect to the upstream: the upstream's authorization URL and the state to bind to the
   * browser (cookie); `unknown` when there is no such enabled provider; `unavailable` (audited) when
   * its discovery fails.
   */
  async start(
    slug: string,
    request: FederationStart,
    ip: string | null,
  ): Promise<
    | {
        readonly status: 'redirect';
        readonly location: string;
        readonly state: string;
        /** SAML answers by a cross-site POST: the state cookie must be sent on it. */
        readonly protocol: 'oidc' | 'saml';
      }
    | { readonly status: 'unknown' | 'unavailable' }
  > {
    const provider = await this.providers.findEnabled(slug);
    if (!provider) {
      return { status: 'unknown' };
    }
    if (provider.type === 'saml') {
      return this.startSaml(provider, request);
    }
    const redirect = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
    };
    let location: URL;
    try {
      location = await this.relyingParty.authorizationUrl(provider, redirect);
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) {
        throw error;
      }
      await this.recordRefusal(slug, 'upstream_unavailable', ip, { step: 'discovery' });
      return { status: 'unavailable' };
    }
    const now = this.clock.now();
    const stateHash = sha256(redirect.state);
    // Redirects never completed: gone after their time (indexed; usually nothing to delete).
    await this.database.federation.deleteExpiredStates(now);
    await this.database.federation.createState({
      stateHash,
      providerId: provider.id,
      codeVerifierSealed: seal(
        this.verifierKey,
        Buffer.from(redirect.codeVerifier),
        stateHash.toString('hex'),
      ),
      nonce: redirect.nonce,
      samlRequestId: null,
      ...this.stateContinuation(request, now),
    });
    return {
      status: 'redirect',
      location: location.href,
      state: redirect.state,
      protocol: 'oidc',
    };
  }

  /** A SAML AuthnRequest (HTTP-Redirect); RelayState is the state, its request ID stored with it. */
  private async startSaml(
    provider: IdentityProvider,
    request: FederationStart,
  ): Promise<{ status: 'redirect'; location: string; state: string; protocol: 'saml' }> {
    const state = oidc.randomState();
    const { location, requestId } = await this.saml.authorizeRedirect(provider, state);
    const now = this.clock.now();
    await this.database.federation.deleteExpiredStates(now);
    await this.database.federation.createState({
      stateHash: sha256(state),
      providerId: provider.id,
      codeVerifierSealed: null,
      nonce: null,
      samlRequestId: requestId,
      ...this.stateContinuation(request, now),
    });
    return { status: 'redirect', location, state, protocol: 'saml' };
  }

  private stateContinuation(
    request: FederationStart,
    now: Date,
  ): Pick<
    FederationState,
    'interaction' | 'device' | 'returnTo' | 'linkSessionId' | 'createdAt' | 'expiresAt'
  > {
    return {
      interaction: request.interaction ?? null,
      device: request.device ?? null,
      returnTo: ownPath(request.returnTo ?? undefined, this.issuer),
      linkSessionId: request.linkSession?.sessionId ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + FEDERATION_STATE_TTL_SECONDS * 1000),
    };
  }

  /**
   * The callback: `query` is the raw query string, `stateCookie` the state this browser was given,
   * `current` the browser's session (for linking).
   */
  async callback(
    slug: string,
    query: string,
    stateCookie: string | undefined,
    current: { readonly sessionId: string; readonly userId: string } | null,
    ip: string | null,
  ): Promise<FederationOutcome> {
    let next: FederationNext | null = null;
    try {
      const provider = await this.providers.findEnabled(slug);
      if (provider?.type !== 'oidc') {
        throw new Refused('provider_unknown');
      }
      const given = new URLSearchParams(query).getAll('state');
      const state = await this.spendState(
        provider,
        given.length === 1 ? given[0]! : '',
        stateCookie,
      );
      next = { interaction: state.interaction, device: state.device, returnTo: state.returnTo };
      if (state.nonce === null || state.codeVerifierSealed === null) {
        throw new Refused('state_invalid');
      }
      const upstream = await this.relyingParty
        .redeem(provider, query, {
          state: new URLSearchParams(query).get('state') ?? '',
          nonce: state.nonce,
          codeVerifier: open(
            this.verifierKey,
            state.codeVerifierSealed,
            state.stateHash.toString('hex'),
          ).toString('utf8'),
        })
        .catch((error: unknown) => {
          if (error instanceof UpstreamUnavailableError) {
            throw new Refused('upstream_unavailable');
          }
          throw upstreamRefusal(error);
        });
      const account = {
        subject: upstream.subject,
        email: this.emailOf(provider, upstream.claims),
      };
      return await this.resolve(provider, state, account, current, ip, next);
    } catch (error) {
      if (!(error instanceof Refused)) {
        throw error;
      }
      await this.recordRefusal(slug, error.reason, ip, error.details);
      return { status: 'refused', reason: error.reason, next };
    }
  }

  /** The SP metadata of an enabled SAML provider; null when there is none with this slug. */
  async samlMetadata(slug: string): Promise<string | null> {
    const provider = await this.providers.findEnabled(slug);
    return provider?.type === 'saml' ? this.saml.metadata(provider) : null;
  }

  /**
   * The SAML assertion consumer service: `relayState` must be the state this browser was given
   * (cookie), the response must answer the request stored with it, and its assertion is accepted
   * once (recorded in the transaction that signs in or links).
   */
  async samlAcs(
    slug: string,
    form: { readonly samlResponse: string; readonly relayState: string },
    stateCookie: string | undefined,
    current: { readonly sessionId: string; readonly userId: string } | null,
    ip: string | null,
  ): Promise<FederationOutcome> {
    let next: FederationNext | null = null;
    try {
      const provider = await this.providers.findEnabled(slug);
      if (provider?.type !== 'saml') {
        throw new Refused('provider_unknown');
      }
      const state = await this.spendState(provider, form.relayState, stateCookie);
      next = { interaction: state.interaction, device: state.device, returnTo: state.returnTo };
      if (state.samlRequestId === null) {
        throw new Refused('state_invalid');
      }
      const assertion = await this.saml
        .validate(provider, form.samlResponse, state.samlRequestId)
        .catch((error: unknown) => {
          throw error instanceof SamlResponseRefused
            ? new Refused('assertion_invalid', { check: error.check })
            : error;
        });
      const now = this.clock.now();
      await this.database.federation.deleteExpiredSamlAssertions(now);
      const once: InTransaction = async (repositories) => {
        const accepted = await repositories.federation.acceptSamlAssertion(
          provider.id,
          sha256(assertion.assertionId),
          assertion.expiresAt,
          now,
        );
        if (!accepted) {
          throw new Refused('assertion_replayed');
        }
      };
      const email = assertion.email ? this.validEmail(assertion.email, true) : null;
      const account = { subject: assertion.subject, email };
      return await this.resolve(provider, state, account, current, ip, next, once);
    } catch (error) {
      if (!(error instanceof Refused)) {
        throw error;
      }
      await this.recordRefusal(slug, error.reason, ip, error.details);
      return { status: 'refused', reason: error.reason, next };
    }
  }

  /** After the protocol's checks: link to the signed-in user, or sign in (link, create, refuse). */
  private async resolve(
    provider: IdentityProvider,
    state: FederationState,
    account: UpstreamAccount,
    current: { readonly sessionId: string; readonly userId: string } | null,
    ip: string | null,
    next: FederationNext,
    inTransaction?: InTransaction,
  ): Promise<FederationOutcome> {
    if (state.linkSessionId !== null) {
      if (!current || current.sessionId !== state.linkSessionId) {
        throw new Refused('link_session_invalid');
      }
      await this.linkToSignedIn(provider, account, current.userId, ip, inTransaction);
      return { status: 'linked', next };
    }
    const signIn = await this.signIn(provider, account, ip, inTransaction);
    if (this.requireVerifiedEmail && !signIn.user.emailVerifiedAt) {
      await this.recordRefusal(provider.slug, 'email_not_verified', ip, {
        userId: signIn.user.id,
      });
      return { status: 'unverified', userId: signIn.user.id, next };
    }
    return { status: 'signed-in', signIn, next };
  }

  async listIdentities(userId: string): Promise<LinkedIdentity[]> {
    return (await this.database.federation.listIdentities(userId)).map((row) => ({
      id: row.id,
      provider: { slug: row.providerSlug, displayName: row.providerDisplayName },
      email: row.email,
      linkedAt: row.linkedAt,
      lastSignInAt: row.lastSignInAt,
    }));
  }

  /** Unlinks, unless it is the user's last way to sign in (no password, passkey or other identity). */
  async unlink(userId: string, id: string, ip: string | null): Promise<void> {
    await this.database.transaction(async (repositories) => {
      const user = await repositories.users.lockById(userId);
      if (!user) {
        throw new UserNotFoundError();
      }
      const identities = await repositories.federation.listIdentities(userId);
      const identity = identities.find((row) => row.id === id);
      if (!identity) {
        throw new FederatedIdentityNotFoundError();
      }
      // A passkey is a sign-in method of its own (passwordless), so it keeps the account reachable.
      if (
        user.passwordHash === null &&
        identities.length <= 1 &&
        (await repositories.mfa.listPasskeys(userId)).length === 0
      ) {
        throw new LastSignInMethodError();
      }
      await repositories.federation.unlink(userId, id);
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'federation.unlinked',
        subject: `user:${userId}`,
        ip,
        details: { provider: identity.providerSlug, identityId: id },
      });
    });
  }

  /** The state must be the one this browser was given (cookie), still live, and for this provider. */
  private async spendState(
    provider: IdentityProvider,
    state: string,
    stateCookie: string | undefined,
  ): Promise<FederationState> {
    if (!state || !stateCookie || state.length > 512) {
      throw new Refused('state_invalid');
    }
    const hash = sha256(state);
    if (!timingSafeEqual(hash, sha256(stateCookie))) {
      throw new Refused('state_invalid');
    }
    const row = await this.database.federation.spendState(hash, this.clock.now());
    if (!row || row.providerId !== provider.id) {
      throw new Refused('state_invalid');
    }
    return row;
  }

  private async signIn(
    provider: IdentityProvider,
    account: UpstreamAccount,
    ip: string | null,
    inTransaction?: InTransaction,
  ): Promise<SignIn> {
    const { email } = account;
    return this.database.transaction(async (repositories) => {
      await inTransaction?.(repositories);
      const now = this.clock.now();
      const linked = await repositories.federation.findIdentity(provider.id, account.subject);
      let user: User | null;
      let identityId: string;
      if (linked) {
        user = await repositories.users.findById(linked.userId);
        identityId = linked.id;
        await repositories.federation.recordSignIn(linked.id, email?.address ?? null, now);
      } else {
        ({ user, identityId } = await this.firstSignIn(repositories, provider, account, email, ip));
      }
      if (!user || user.disabledAt) {
        throw new Refused('user_disabled', { userId: user?.id ?? null });
      }
      await this.audit.record(repositories, {
        actor: `user:${user.id}`,
        action: 'federation.signed_in',
        subject: `user:${user.id}`,
        ip,
        details: { provider: provider.slug, identityId },
      });
      return { user, amr: ['fed'] as const, identityProviderId: provider.id };
    });
  }

  /** No link yet: link by trusted verified email, or create the user, or refuse. */
  private async firstSignIn(
    repositories: Repositories,
    provider: IdentityProvider,
    account: { subject: string },
    email: { address: string; verified: boolean } | null,
    ip: string | null,
  ): Promise<{ user: User | null; identityId: string }> {
    const { config } = provider;
    if (!email) {
      throw new Refused('email_missing');
    }
    const domain = email.address.slice(email.address.lastIndexOf('@') + 1);
    if (config.allowedEmailDomains.length > 0 && !config.allowedEmailDomains.includes(domain)) {
      throw new Refused('email_domain_not_allowed');
    }
    const now = this.clock.now();
    const trusted = email.verified && config.trustEmailVerified;
    let user = await repositories.users.findByEmail(email.address);
    let method: 'verified-email' | 'created';
    if (user) {
      if (!(trusted && config.linking === 'verified-email')) {
        throw new Refused('account_exists_not_linkable', {
          emailVerified: email.verified,
          trusted: config.trustEmailVerified,
        });
      }
      method = 'verified-email';
    } else {
      if (config.provisioning !== 'create') {
        throw new Refused('provisioning_disabled');
      }
      user = await repositories.users.createUnlessEmailTaken({
        email: email.address,
        passwordHash: null,
      });
      if (!user) {
        // Registered by someone else in the meantime: not linked without the rule above.
        throw new Refused('account_exists_not_linkable');
      }
      if (trusted) {
        await repositories.users.markEmailVerified(user.id, now, email.address);
        user = { ...user, emailVerifiedAt: now };
      }
      await this.audit.record(repositories, {
        actor: 'anonymous',
        action: 'user.registered',
        subject: `user:${user.id}`,
        ip,
        details: { via: `federation:${provider.slug}` },
      });
      method = 'created';
    }
    const identity = await repositories.federation.link({
      userId: user.id,
      providerId: provider.id,
      subject: account.subject,
      email: email.address,
      at: now,
    });
    if (!identity) {
      throw new Refused('identity_linked_to_another_user');
    }
    await this.audit.record(repositories, {
      actor: `user:${user.id}`,
      action: 'federation.linked',
      subject: `user:${user.id}`,
      ip,
      details: { provider: provider.slug, identityId: identity.id, method },
    });
    return { user, identityId: identity.id };
  }

  private async linkToSignedIn(
    provider: IdentityProvider,
    account: UpstreamAccount,
    userId: string,
    ip: string | null,
    inTransaction?: InTransaction,
  ): Promise<void> {
    const { email } = account;
    await this.database.transaction(async (repositories) => {
      await inTransaction?.(repositories);
      const existing = await repositories.federation.findIdentity(provider.id, account.subject);
      if (existing) {
        if (existing.userId !== userId) {
          throw new Refused('identity_linked_to_another_user');
        }
        return;
      }
      const identity = await repositories.federation.link({
        userId,
        providerId: provider.id,
        subject: account.subject,
        email: email?.address ?? null,
        at: this.clock.now(),
      });
      if (!identity) {
        throw new Refused('identity_linked_to_another_user');
      }
      await this.audit.record(repositories, {
        actor: `user:${userId}`,
        action: 'federation.linked',
        subject: `user:${userId}`,
        ip,
        details: { provider: provider.slug, identityId: identity.id, method: 'signed-in' },
      });
    });
  }

  private emailOf(
    provider: IdentityProvider,
    claims: Readonly<Record<string, unknown>>,
  ): { address: string; verified: boolean } | null {
    const { email, emailVerified } = oidcConfig(provider).claimMapping;
    const address = claims[email];
    const verified = claims[emailVerified];
    return typeof address === 'string'
      ? this.validEmail(address, verified === true || verified === 'true')
      : null;
  }

  private validEmail(
    address: string,
    verified: boolean,
  ): { address: string; verified: boolean } | null {
    return /^[^\s@]{1,64}@[^\s@]{1,189}$/.test(address.trim())
      ? { address: normalizeEmail(address), verified }
      : null;
  }

  private async recordRefusal(
    slug: string,
    reason: FederationRefusal | 'upstream_unavailable',
    ip: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record(this.database, {
      actor: 'anonymous',
      action: 'federation.refused',
      subject: `identity_provider:${slug.slice(0, 64)}`,
      ip,
      details: { provider: slug.slice(0, 64), reason, ...details },
    });
  }
}

/** An upstream error answer or a token that does not validate: which check failed, for the log. */
function upstreamRefusal(error: unknown): Refused {
  const code = (error as { code?: unknown } | null)?.code;
  const upstreamError = (error as { error?: unknown } | null)?.error;
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError) {
    return new Refused('upstream_error', {
      error: typeof upstreamError === 'string' ? upstreamError.slice(0, 64) : null,
    });
  }
  return new Refused('token_invalid', {
    check: typeof code === 'string' ? code.slice(0, 64) : null,
  });
}
