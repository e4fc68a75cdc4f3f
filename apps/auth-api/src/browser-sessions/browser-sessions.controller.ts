import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { ApiCsrfChecked, ApiAuthenticated, ErrorResponseDto, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  MfaService,
  PasswordAuthenticator,
  type SignIn,
  SessionService,
  ValidationFailedError,
} from '@gatehouse/identity';
import { CurrentUser, Public, RequireTrustedOrigin } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { toUserResponse } from '../account/account.dto.js';
import { asAuthenticationResponse } from '../account/passkeys.dto.js';
import {
  LoginMfaRequestDto,
  LoginRequestDto,
  LoginResponseDto,
  mfaRequired,
  MfaRequiredResponseDto,
  toSessionResponse,
} from './browser-sessions.dto.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';

@ApiTags('browser sessions')
@ApiExtraModels(LoginResponseDto, MfaRequiredResponseDto)
@Controller('auth')
export class BrowserSessionsController {
  private readonly cookieName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly authenticator: PasswordAuthenticator,
    private readonly sessions: SessionService,
    private readonly mfa: MfaService,
  ) {
    this.cookieName = config.session.cookieName;
  }

  @Public()
  @RequireTrustedOrigin()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with email and password; sets the session cookie.',
    description:
      'Needs an `Origin` (or `Referer`) in `TRUSTED_ORIGINS` (login CSRF). A session cookie sent along is revoked and replaced (fixation). The cookie is HttpOnly, Secure, SameSite=Lax, Path=/, with Max-Age up to the absolute expiry. A user with a second factor gets `{mfaRequired: true, methods, mfaToken}` instead, with no cookie: `POST /auth/login/mfa` completes the sign-in.',
  })
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(LoginResponseDto) },
        { $ref: getSchemaPath(MfaRequiredResponseDto) },
      ],
    },
    headers: { 'Set-Cookie': { schema: { type: 'string' }, description: 'Not with mfaRequired.' } },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description:
      '`INVALID_CREDENTIALS`, the same body for an unknown email, a wrong password and a disabled account.',
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: '`CSRF_REJECTED`.' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: '`RATE_LIMITED` per account or per IP, with `Retry-After` in seconds.',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      '`SERVICE_BUSY`: too many password hashes queued (sign-ins go first), with `Retry-After`.',
  })
  async login(
    @Body() body: LoginRequestDto,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResponseDto | MfaRequiredResponseDto> {
    const outcome = await this.authenticator.authenticate({ ...body, ip: client.ip });
    if (outcome.status === 'mfa-required') {
      return mfaRequired(outcome.mfaToken, outcome.methods);
    }
    return this.startSession(outcome.signIn, client, request, reply);
  }

  @Public()
  @RequireTrustedOrigin()
  @Post('login/mfa')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Second step of a sign-in: a TOTP code, a recovery code or a passkey; sets the session cookie.',
    description:
      'With the `mfaToken` of `POST /auth/login` (single use, 5 minutes) and one of `code`, `recoveryCode` or `assertion` (a passkey, with the options of `POST /auth/login/mfa/passkey-options`; amr `pwd`, `hwk` or `swk`, `mfa`). A wrong code or assertion leaves the token usable until it expires; five failures per user in 15 minutes answer 429. Same cookie and origin rules as `POST /auth/login`.',
  })
  @ApiOkResponse({
    type: LoginResponseDto,
    headers: { 'Set-Cookie': { schema: { type: 'string' } } },
  })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: '`VALIDATION_FAILED` (not exactly one of `code`, `recoveryCode` and `assertion`).',
  })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description:
      '`MFA_CODE_INVALID` (wrong, replayed or used code), `PASSKEY_INVALID` (an assertion that does not verify), `MFA_TOKEN_INVALID` (unknown, expired or used token).',
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: '`CSRF_REJECTED`.' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: '`RATE_LIMITED` per user, with `Retry-After` in seconds.',
  })
  async loginMfa(
    @Body() body: LoginMfaRequestDto,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResponseDto> {
    const given = [body.code, body.recoveryCode, body.assertion].filter((v) => v !== undefined);
    if (given.length !== 1) {
      throw new ValidationFailedError([
        { field: 'code', messages: ['send one of code, recoveryCode and assertion'] },
      ]);
    }
    const proof =
      body.code !== undefined
        ? { code: body.code }
        : body.assertion !== undefined
          ? { assertion: asAuthenticationResponse(body.assertion) }
          : { recoveryCode: body.recoveryCode! };
    const signIn = await this.mfa.complete(body.mfaToken, proof, client.ip);
    return this.startSession(signIn, client, request, reply);
  }

  private async startSession(
    signIn: SignIn,
    client: ClientContext,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<LoginResponseDto> {
    const previous = request.cookies[this.cookieName];
    const started = await this.sessions.startCookieSession(signIn, client, previous);
    setSessionCookie(reply, this.cookieName, started.token, started.maxAgeSeconds);
    return { user: toUserResponse(signIn.user), session: toSessionResponse(started.session) };
  }

  @Post('logout')
  @HttpCode(204)
  @ApiAuthenticated()
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'End the current session and clear its cookie.' })
  @ApiNoContentResponse({ description: 'The session is revoked (`logout`).' })
  async logout(
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    if (caller.sessionId) {
      await this.sessions.logout(caller.userId(), caller.sessionId, client);
    }
    clearSessionCookie(reply, this.cookieName);
  }
}
