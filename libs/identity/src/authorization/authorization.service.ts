import { Injectable } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { type Client, Database } from '@gatehouse/persistence';

import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../clock.js';
import { CLIENT_ID_SHAPE } from '../clients/client.service.js';
import { ACR_VALUES_SUPPORTED, satisfiesAcrValues } from '../mfa/assurance.js';
import { defaultScopeOf } from '../oauth/granted-scope.js';
import { OAuthError } from '../oauth/oauth.errors.js';
import { assertResourceShape, ResourceIndicators } from '../oauth/resource-indicators.js';
import { AuthorizationCodeService } from './authorization-code.service.js';

/** The query of `GET /oauth/authorize`, as received (every value optional until checked). */
export interface AuthorizationParams {
  readonly client_id?: string;
  readonly redirect_uri?: string;
  readonly response_type?: string;
  readonly scope?: string;
  readonly state?: string;
  readonly code_challenge?: string;
  readonly code_challenge_method?: string;
  readonly nonce?: string;
  readonly prompt?: string;
  readonly max_age?: string;
  /** OIDC Core §3.1.2.1: the authentication context classes wanted, space-separated. */
  readonly acr_values?: string;
  /** RFC 8707 §2: may be repeated. */
  readonly resource?: readonly string[];
}

export type Prompt = 'none' | 'login' | 'consent';

/** A request that passed every check: what the user is asked to approve. */
export interface AuthorizationRequest {
  readonly client: Client;
  readonly redirectUri: string;
  readonly scope: string;
  readonly state: string | null;
  readonly codeChallenge: string;
  readonly nonce: string | null;
  readonly prompts: readonly Prompt[];
  readonly maxAgeSeconds: number | null;
  /**
   * The `acr_values` we know (others are ignored, OIDC Core §5.5.1.1: they are voluntary): a
   * browser session whose sign-in satisfies none of them signs in again.
   */
  readonly acrValues: readonly string[];
  /** RFC 8707: the resource servers the tokens will be for (none: the default audience). */
  readonly resources: readonly string[];
}

/**
 * Refused before the redirect URI could be trusted (unknown client, unregistered redirect_uri): shown
 * to the user on the error page, never redirected (RFC 6749 §4.1.2.1, open-redirect defence).
 */
export class AuthorizationPageError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** Refused after: sent back to the client's redirect_uri with `state` and `iss` (RFC 9207). */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly request: Pick<AuthorizationRequest, 'redirectUri' | 'state'>,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

/** The signed-in browser session, as far as authorization is concerned. */
export interface SignedInUser {
  readonly userId: string;
  /** The browser (cookie) session: the parent of the token sessions this sign-in approves. */
  readonly sessionId: string;
  /** When the user proved who they are (the cookie session's start): `auth_time`. */
  readonly authTime: Date;
  /** How (RFC 8176), as the cookie session recorded it; null for sessions from before. */
  readonly amr: readonly string[] | null;
}

/** What the authorization endpoint must do next. */
export type AuthorizationStep =
  | { readonly next: 'sign-in' }
  | { readonly next: 'consent'; readonly scopes: readonly string[] }
  | { readonly next: 'redirect'; readonly location: string };

const CHALLENGE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** `state` and `nonce` are opaque to us, but bounded (they are stored and sealed) and printable. */
export const OPAQUE_MAX = 512;
export const OPAQUE_VALUE = new RegExp(`^[\\x20-\\x7e]{1,${OPAQUE_MAX}}$`);
const PROMPTS: readonly Prompt[] = ['none', 'login', 'consent'];

/**
 * The authorization endpoint's rules (RFC 6749 §4.1, OAuth 2.1, RFC 9700): response_type=code only,
 * exact redirect_uri match, PKCE S256 required of every client, `state` passed back (required where
 * the client says so), `prompt` and `max_age` honoured, consent asked of third-party clients and
 * remembered per client and scopes.
 */
@Injectable()
export class AuthorizationService {
  private readonly issuer: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly codes: AuthorizationCodeService,
    private readonly audit: AuditService,
    private readonly resourceIndicators: ResourceIndicators,
  ) {
    this.issuer = config.issuer;
  }

  async validate(params: AuthorizationParams): Promise<AuthorizationRequest> {
    const client =
      params.client_id && CLIENT_ID_SHAPE.test(params.client_id)
        ? await this.database.clients.findById(params.client_id)
        : null;
    if (!client) {
      throw new AuthorizationPageError('invalid_request', 'The client is not registered.');
    }
    // Exact string comparison (RFC 9700 §4.1.3): no prefix, no trailing-slash or case leniency.
    const redirectUri = params.redirect_uri;
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
      throw new AuthorizationPageError(
        'invalid_request',
        'The redirect_uri is not registered for this client.',
      );
    }
    if (params.state !== undefined && !OPAQUE_VALUE.test(params.state)) {
      // Not echoed: it is what is wrong.
      throw new AuthorizationRedirectError(
        { redirectUri, state: null },
        'invalid_request',
        `state must be 1 to ${OPAQUE_MAX} printable characters.`,
      );
    }
    const state = params.state ?? null;
    const fail = (error: string, description: string) =>
      new AuthorizationRedirectError({ redirectUri, state }, error, description);
    if (params.nonce !== undefined && !OPAQUE_VALUE.test(params.nonce)) {
      throw fail('invalid_request', `nonce must be 1 to ${OPAQUE_MAX} printable characters.`);
    }
    if (params.response_type !== 'code') {
      throw fail('unsupported_response_type', 'Only response_type=code is supported.');
    }
    if (!client.grantTypes.includes('authorization_code')) {
      throw fail('unauthorized_client', 'The client may not use the authorization code grant.');
    }
    if (client.requireState && !state) {
      throw fail('invalid_request', 'This client must send state.');
    }
    if (!params.code_challenge) {
      throw fail('invalid_request', 'PKCE is required: send code_challenge (S256).');
    }
    if (params.code_challenge_method !== 'S256') {
      throw fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted).');
    }
    if (!CHALLENGE_SHAPE.test(params.code_challenge)) {
      throw fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters).');
    }
    const prompts = (params.prompt ?? '').split(' ').filter(Boolean);
    if (
      prompts.some((prompt) => !PROMPTS.includes(prompt as Prompt)) ||
      (prompts.includes('none') && prompts.length > 1)
    ) {
      throw fail('invalid_request', 'prompt must be none, or any of login and consent.');
    }
    let maxAgeSeconds: number | null = null;
    if (params.max_age !== undefined) {
      if (!/^\d{1,9}$/.test(params.max_age)) {
        throw fail('invalid_request', 'max_age must be a number of seconds.');
      }
      maxAgeSeconds = Number(params.max_age);
    }
    if (params.acr_values !== undefined && !OPAQUE_VALUE.test(params.acr_values)) {
      throw fail('invalid_request', `acr_values must be 1 to ${OPAQUE_MAX} printable characters.`);
    }
    const acrValues = (params.acr_values ?? '')
      .split(' ')
      .filter((value) => ACR_VALUES_SUPPORTED.includes(value));
    const asked = [...new Set((params.scope ?? '').split(' ').filter(Boolean))];
    if (asked.some((scope) => !client.scopes.includes(scope))) {
      throw fail('invalid_scope', 'The requested scope is not registered for this client.');
    }
    const resources = [...new Set(params.resource ?? [])];
    try {
      assertResourceShape(resources);
      await this.resourceIndicators.assertKnown(resources);
    } catch (error) {
      throw error instanceof OAuthError ? fail(error.error, error.description) : error;
    }
    return {
      client,
      redirectUri,
      scope: (asked.length > 0 ? asked : defaultScopeOf(client)).join(' '),
      state,
      codeChallenge: params.code_challenge,
      nonce: params.nonce ?? null,
      prompts: prompts as Prompt[],
      maxAgeSeconds,
      acrValues,
      resources,
    };
  }

  /**
   * The next step for a valid request. `signedInDuringRequest`: the user signed in after the
   * request arrived (so `prompt=login`, `max_age` and `acr_values` are satisfied: a user who cannot
   * reach the class asked for, having no such factor, goes on with what they have, and the resource
   * server refuses the token, RFC 9470 §4); `consented`: the user approved
   * on the consent page of this request.
   */
  async next(
    request: AuthorizationRequest,
    user: SignedInUser | null,
    flags: { readonly signedInDuringRequest: boolean; readonly consented: boolean },
  ): Promise<AuthorizationStep> {
    const promptNone = request.prompts.includes('none');
    // OIDC Core §3.1.2.1: max_age=0 is prompt=login.
    const tooOld =
      request.maxAgeSeconds !== null &&
      user !== null &&
      (request.maxAgeSeconds === 0 ||
        this.clock.now().getTime() - user.authTime.getTime() > request.maxAgeSeconds * 1000);
    // The sign-in asks for the second step whenever the user has a factor: signing in again steps up.
    const tooWeak =
      request.acrValues.length > 0 &&
      user !== null &&
      !satisfiesAcrValues(user.amr, request.acrValues);
    const mustSignIn =
      user === null ||
      (!flags.signedInDuringRequest && (request.prompts.includes('login') || tooOld || tooWeak));
    if (mustSignIn) {
      if (promptNone) {
        throw new AuthorizationRedirectError(request, 'login_required', 'The user must sign in.');
      }
      return { next: 'sign-in' };
    }
    const scopes = request.scope.split(' ').filter(Boolean);
    if (!flags.consented && (await this.needsConsent(request, user.userId, scopes))) {
      if (promptNone) {
        throw new AuthorizationRedirectError(
          request,
          'consent_required',
          'The user must approve this client.',
        );
      }
      return { next: 'consent', scopes };
    }
    // The consent and the code land together or not at all.
    const code = await this.database.transaction(async (repositories) => {
      if (flags.consented) {
        await repositories.consents.grant(user.userId, request.client.id, scopes, this.clock.now());
        await this.audit.record(repositories, {
          actor: `user:${user.userId}`,
          action: 'oauth.consent_granted',
          subject: `client:${request.client.id}`,
          ip: null,
          details: { scopes },
        });
      }
      return this.codes.issue(
        {
          client: request.client,
          userId: user.userId,
          redirectUri: request.redirectUri,
          scope: request.scope,
          resources: request.resources,
          codeChallenge: request.codeChallenge,
          nonce: request.nonce,
          authTime: user.authTime,
          amr: user.amr,
          browserSessionId: user.sessionId,
        },
        repositories,
      );
    });
    return { next: 'redirect', location: this.redirectLocation(request, { code }) };
  }

  /** The client's redirect_uri with the answer, `state` and `iss` (RFC 9207) in its query. */
  redirectLocation(
    request: Pick<AuthorizationRequest, 'redirectUri' | 'state'>,
    answer: Record<string, string>,
  ): string {
    const location = new URL(request.redirectUri);
    for (const [name, value] of Object.entries(answer)) {
      location.searchParams.set(name, value);
    }
    if (request.state !== null) {
      location.searchParams.set('state', request.state);
    }
    location.searchParams.set('iss', this.issuer);
    return location.href;
  }

  /** First-party clients and clients that do not ask never need it; otherwise per scopes granted. */
  private async needsConsent(
    request: AuthorizationRequest,
    userId: string,
    scopes: readonly string[],
  ): Promise<boolean> {
    if (request.client.firstParty || !request.client.requireConsent) {
      return false;
    }
    if (request.prompts.includes('consent')) {
      return true;
    }
    const granted = await this.database.consents.scopesGranted(userId, request.client.id);
    return granted === null || scopes.some((scope) => !granted.includes(scope));
  }
}
