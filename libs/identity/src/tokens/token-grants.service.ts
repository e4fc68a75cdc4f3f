import { Injectable } from '@nestjs/common';
import type { Client } from '@gatehouse/persistence';

import {
  AuthorizationCodeService,
  claimsFor,
  type CodeRedemption,
  emailNotVerified,
} from '../authorization/authorization-code.service.js';
import { DeviceAuthorizationService } from '../authorization/device-authorization.service.js';
import type { GrantType } from '../clients/client.service.js';
import { Clock } from '../clock.js';
import {
  EmailNotVerifiedError,
  InvalidCredentialsError,
  MfaCodeInvalidError,
  MfaTokenInvalidError,
} from '../identity.errors.js';
import { delegatedScope } from '../oauth/delegation.js';
import { grantedScope } from '../oauth/granted-scope.js';
import { MfaService, type SecondFactorProof, type SignIn } from '../mfa/mfa.service.js';
import { invalidGrant, mfaRequired, unauthorizedClient } from '../oauth/oauth.errors.js';
import type { ClientContext } from '../sessions/session.service.js';
import { PasswordAuthenticator } from '../users/password-authenticator.js';
import { AccessTokenIssuer } from './access-token.issuer.js';
import { RefreshTokenService, type TokenResponse } from './refresh-token.service.js';

export interface PasswordGrantRequest {
  readonly username: string;
  readonly password: string;
  readonly scope?: string;
  readonly resources?: readonly string[];
}

/** `urn:gatehouse:params:oauth:grant-type:mfa-otp`: the second step of a password grant. */
export interface MfaOtpGrantRequest {
  readonly mfaToken: string;
  readonly proof: SecondFactorProof;
  readonly scope?: string;
  readonly resources?: readonly string[];
}

export const MFA_OTP_GRANT_TYPE = 'urn:gatehouse:params:oauth:grant-type:mfa-otp';

/** What any token request may narrow: its scope (RFC 6749 §3.3) and audience (RFC 8707). */
export interface TokenScopeRequest {
  readonly scope?: string;
  readonly resources?: readonly string[];
}

/** The grants of `POST /oauth/token`, each checked against what the client is allowed. */
@Injectable()
export class TokenGrantsService {
  constructor(
    private readonly authenticator: PasswordAuthenticator,
    private readonly refreshTokens: RefreshTokenService,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly codes: AuthorizationCodeService,
    private readonly devices: DeviceAuthorizationService,
    private readonly clock: Clock,
    private readonly mfa: MfaService,
  ) {}

  /** RFC 8628 §3.4: the device polls until the user answers on the device page. */
  deviceCode(client: Client, deviceCode: string, context: ClientContext): Promise<TokenResponse> {
    this.assertAllowed(client, 'urn:ietf:params:oauth:grant-type:device_code');
    return this.devices.poll(client, deviceCode, context);
  }

  /** RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5). */
  authorizationCode(
    client: Client,
    redemption: CodeRedemption,
    context: ClientContext,
  ): Promise<TokenResponse> {
    this.assertAllowed(client, 'authorization_code');
    return this.codes.redeem(client, redemption, context);
  }

  /**
   * RFC 6749 §4.3, for first-party clients only (RFC 9700 §2.4: never for third parties): the same
   * password check, enumeration safety and limits as the cookie login. With `openid`, an ID token as
   * the code flow's, its `auth_time` the password check; no `nonce`, since the request has none.
   */
  async password(
    client: Client,
    request: PasswordGrantRequest,
    context: ClientContext,
  ): Promise<TokenResponse> {
    this.assertAllowed(client, 'password');
    if (!client.firstParty) {
      throw unauthorizedClient('The password grant is reserved to first-party clients.');
    }
    const scope = grantedScope(client, request.scope);
    const outcome = await this.authenticator
      .authenticate({ email: request.username, password: request.password, ip: context.ip })
      .catch((error: unknown) => {
        if (error instanceof EmailNotVerifiedError) {
          throw emailNotVerified();
        }
        throw error instanceof InvalidCredentialsError
          ? invalidGrant('The username or password is incorrect.')
          : error;
      });
    if (outcome.status === 'mfa-required') {
      throw mfaRequired(outcome.mfaToken);
    }
    return this.startSession(client, scope, outcome.signIn, context, request.resources);
  }

  /**
   * The second step of the password grant: the `mfa_token` of its `mfa_required` answer and a TOTP
   * code (`otp`) or a recovery code. Allowed to the clients allowed the password grant.
   */
  async mfaOtp(
    client: Client,
    request: MfaOtpGrantRequest,
    context: ClientContext,
  ): Promise<TokenResponse> {
    this.assertAllowed(client, 'password');
    if (!client.firstParty) {
      throw unauthorizedClient('The password grant is reserved to first-party clients.');
    }
    const scope = grantedScope(client, request.scope);
    const signIn = await this.mfa
      .complete(request.mfaToken, request.proof, context.ip)
      .catch((error: unknown) => {
        if (error instanceof MfaCodeInvalidError) {
          throw invalidGrant('The code is incorrect or was already used.');
        }
        throw error instanceof MfaTokenInvalidError
          ? invalidGrant('The mfa_token is invalid, expired or was already used.')
          : error;
      });
    return this.startSession(client, scope, signIn, context, request.resources);
  }

  private async startSession(
    client: Client,
    scope: string,
    { user, amr }: SignIn,
    context: ClientContext,
    resources: readonly string[] | undefined,
  ): Promise<TokenResponse> {
    const started = await this.refreshTokens.startSessionOnce(
      user,
      client,
      scope,
      context,
      () => Promise.resolve(true),
      { nonce: null, authTime: this.clock.now(), amr, claims: claimsFor(scope, user) },
      resources,
    );
    return started!;
  }

  refresh(
    client: Client,
    refreshToken: string,
    context: ClientContext,
    request: TokenScopeRequest = {},
  ): Promise<TokenResponse> {
    this.assertAllowed(client, 'refresh_token');
    return this.refreshTokens.rotate(
      client,
      refreshToken,
      context,
      request.scope,
      request.resources,
    );
  }

  /** RFC 6749 §4.4: the client acts for itself; no user, no session, no refresh token. */
  async clientCredentials(client: Client, request: TokenScopeRequest = {}): Promise<TokenResponse> {
    this.assertAllowed(client, 'client_credentials');
    if (client.secretHash === null) {
      throw unauthorizedClient('A public client cannot use client credentials.');
    }
    // A client acting for itself has no account and no roles: never `account` or `admin`.
    const granted = delegatedScope(client, null, grantedScope(client, request.scope));
    const minted = await this.accessTokens.mint(granted, request.resources ?? []);
    const access = await this.accessTokens.issue({
      subject: client.id,
      sessionId: null,
      clientId: client.id,
      minted,
      roles: null,
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: minted.scope,
    };
  }

  private assertAllowed(client: Client, grantType: GrantType): void {
    if (!client.grantTypes.includes(grantType)) {
      throw unauthorizedClient(`The client may not use the ${grantType} grant.`);
    }
  }
}
