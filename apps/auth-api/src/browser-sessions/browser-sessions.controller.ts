import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { ApiCsrfChecked, ApiAuthenticated, ErrorResponseDto, RequestClient } from '@gatehouse/http';
import { type ClientContext, PasswordAuthenticator, SessionService } from '@gatehouse/identity';
import { CurrentUser, Public, RequireTrustedOrigin } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { toUserResponse } from '../account/account.dto.js';
import { LoginRequestDto, LoginResponseDto, toSessionResponse } from './browser-sessions.dto.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';

@ApiTags('browser sessions')
@Controller('auth')
export class BrowserSessionsController {
  private readonly cookieName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly authenticator: PasswordAuthenticator,
    private readonly sessions: SessionService,
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
      'Needs an `Origin` (or `Referer`) in `TRUSTED_ORIGINS` (login CSRF). A session cookie sent along is revoked and replaced (fixation). The cookie is HttpOnly, Secure, SameSite=Lax, Path=/, with Max-Age up to the absolute expiry.',
  })
  @ApiOkResponse({
    type: LoginResponseDto,
    headers: { 'Set-Cookie': { schema: { type: 'string' } } },
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
  ): Promise<LoginResponseDto> {
    const user = await this.authenticator.authenticate({ ...body, ip: client.ip });
    const previous = request.cookies[this.cookieName];
    const started = await this.sessions.startCookieSession(user, client, previous);
    setSessionCookie(reply, this.cookieName, started.token, started.maxAgeSeconds);
    return { user: toUserResponse(user), session: toSessionResponse(started.session) };
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
