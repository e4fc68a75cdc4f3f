import { Body, Controller, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { ErrorResponseDto, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  MfaService,
  PasskeyService,
  SessionService,
} from '@gatehouse/identity';
import { Public, RequireTrustedOrigin } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { toUserResponse } from '../account/account.dto.js';
import {
  asAuthenticationResponse,
  PublicKeyCredentialOptionsDto,
} from '../account/passkeys.dto.js';
import {
  LoginResponseDto,
  MfaPasskeyOptionsRequestDto,
  PasskeySignInRequestDto,
  toSessionResponse,
} from './browser-sessions.dto.js';
import { setSessionCookie } from './session-cookie.js';

/**
 * Signing in with a passkey: passwordless (a discoverable credential, user verification required),
 * and the options of a passkey as the second step after a password (`POST /auth/login/mfa` takes
 * the assertion). The options are not secret and change nothing of an account: no origin check.
 */
@ApiTags('browser sessions')
@Public()
@Controller('auth')
export class PasskeySignInController {
  private readonly cookieName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly passkeys: PasskeyService,
    private readonly mfa: MfaService,
    private readonly sessions: SessionService,
  ) {
    this.cookieName = config.session.cookieName;
  }

  @Post('passkey/options')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Start a passwordless sign-in: options for `navigator.credentials.get()`.',
    description:
      'PublicKeyCredentialRequestOptionsJSON with no `allowCredentials` (the authenticator offers its discoverable passkeys for the host name of `ISSUER`) and user verification required. The challenge is single use and valid 5 minutes.',
  })
  @ApiOkResponse({ type: PublicKeyCredentialOptionsDto })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      '`RATE_LIMITED` with `Retry-After`: more than 60 sign-ins started from the IP in 15 minutes.',
  })
  signInOptions(@RequestClient() client: ClientContext): Promise<object> {
    return this.passkeys.signInOptions(client.ip);
  }

  @RequireTrustedOrigin()
  @Post('passkey')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with a passkey, no password; sets the session cookie.',
    description:
      'The assertion must answer a challenge of `POST /auth/passkey/options` (spent either way), come from the origin of `ISSUER`, carry user verification, be signed by a registered passkey and move its signature counter on. Session and cookie exactly as `POST /auth/login` (a cookie sent along is replaced); amr `hwk` (device-bound key) or `swk` (synced passkey), `user`, `mfa`.',
  })
  @ApiOkResponse({
    type: LoginResponseDto,
    headers: { 'Set-Cookie': { schema: { type: 'string' } } },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description:
      '`PASSKEY_INVALID`, the same for an unknown credential, a bad signature, another origin, an expired or used challenge, a counter gone backwards and a disabled account.',
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: '`CSRF_REJECTED`.' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      '`RATE_LIMITED` with `Retry-After`: the IP spent its budget of failed sign-ins (`LOGIN_MAX_ATTEMPTS_PER_IP`, shared with passwords).',
  })
  async signIn(
    @Body() body: PasskeySignInRequestDto,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResponseDto> {
    const signIn = await this.passkeys.signIn(asAuthenticationResponse(body.response), client.ip);
    const previous = request.cookies[this.cookieName];
    const started = await this.sessions.startCookieSession(signIn, client, previous);
    setSessionCookie(reply, this.cookieName, started.token, started.maxAgeSeconds);
    return { user: toUserResponse(signIn.user), session: toSessionResponse(started.session) };
  }

  @Post('login/mfa/passkey-options')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Options for a passkey as the second step of a sign-in.',
    description:
      "With the `mfaToken` of `POST /auth/login` (not spent): PublicKeyCredentialRequestOptionsJSON naming the user's passkeys, user verification preferred. Send the assertion to `POST /auth/login/mfa`.",
  })
  @ApiOkResponse({ type: PublicKeyCredentialOptionsDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: '`MFA_TOKEN_INVALID`: unknown, expired or used token, or a user without passkeys.',
  })
  secondFactorOptions(@Body() body: MfaPasskeyOptionsRequestDto): Promise<object> {
    return this.mfa.passkeyOptions(body.mfaToken);
  }
}
