import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  acrOf,
  type ClientContext,
  ClientService,
  type Introspection,
  OAuthError,
  SessionService,
  TokenIntrospectionService,
  type TokenTypeHint,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import {
  clientCredentialsOf,
  type OAuthBody,
  optionalParam,
  requiredParam,
} from './oauth-params.js';
import {
  IntrospectionResponseDto,
  OAuthErrorResponseDto,
  TokenParamRequestDto,
} from './oauth.dto.js';

/** Gatehouse's extension: a sibling app on the same site validates a session cookie. */
const SESSION_COOKIE_HINT = 'session_cookie';

function hintOf(body: OAuthBody): TokenTypeHint | undefined {
  const hint = optionalParam(body, 'token_type_hint');
  // RFC 7009 §2.1 / RFC 7662 §2.1: an unknown hint is ignored, the token is searched everywhere.
  return hint === 'access_token' || hint === 'refresh_token' ? hint : undefined;
}

/** Introspection (RFC 7662) and revocation (RFC 7009), for authenticated clients. */
@ApiTags('oauth')
@Public()
@Controller('oauth')
export class TokenManagementController {
  constructor(
    private readonly clients: ClientService,
    private readonly tokens: TokenIntrospectionService,
    private readonly sessions: SessionService,
  ) {}

  @Post('introspect')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Token introspection (RFC 7662), for confidential clients.',
    description:
      'Access and refresh tokens. `{active: false}` for anything unknown, expired, used or revoked — an access token whose session was revoked is inactive at once. With `token_type_hint=session_cookie` (Gatehouse extension) the token is a `gh_session` cookie value: sibling apps on the same site validate browser sessions this way (`token_type: session_cookie`, `sub`, `sid`, `roles`, `exp`, `auth_time`, `amr`, `acr`); introspecting a cookie never extends its session. Only a confidential client registered as a resource server (admin-api `resourceServer: true`) may introspect; any other client gets 401 `invalid_client`.',
  })
  @AcceptsFormBody()
  @ApiBody({ type: TokenParamRequestDto })
  @ApiOkResponse({ type: IntrospectionResponseDto })
  @ApiUnauthorizedResponse({ type: OAuthErrorResponseDto, description: '`invalid_client`.' })
  async introspect(
    @Body() body: OAuthBody,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Introspection | SessionIntrospectionResponse> {
    const client = await this.clients.authenticate(clientCredentialsOf(authorization, body));
    // RFC 7662 §2.1: only the resource servers an operator registered may learn about tokens.
    if (client.secretHash === null || !client.resourceServer) {
      throw new OAuthError('invalid_client', 'Only a resource server may introspect.', 401);
    }
    const token = requiredParam(body, 'token');
    if (optionalParam(body, 'token_type_hint') === SESSION_COOKIE_HINT) {
      return this.introspectSessionCookie(token);
    }
    return this.tokens.introspect(token, hintOf(body), client);
  }

  @Post('revoke')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Token revocation (RFC 7009).',
    description:
      "A refresh or access token ends its whole session. Unknown tokens and other clients' tokens also answer 200.",
  })
  @AcceptsFormBody()
  @ApiBody({ type: TokenParamRequestDto })
  @ApiOkResponse({ description: 'Revoked, or nothing to revoke.' })
  @ApiUnauthorizedResponse({ type: OAuthErrorResponseDto, description: '`invalid_client`.' })
  async revoke(
    @Body() body: OAuthBody,
    @Headers('authorization') authorization: string | undefined,
    @RequestClient() context: ClientContext,
  ): Promise<void> {
    const client = await this.clients.authenticate(clientCredentialsOf(authorization, body));
    await this.tokens.revoke(client, requiredParam(body, 'token'), context);
  }

  /** Same rules as auth-api's own cookie check; looking never extends the session. */
  private async introspectSessionCookie(token: string): Promise<SessionIntrospectionResponse> {
    const result = await this.sessions.authenticateCookie(token, { extend: false });
    if (result.status !== 'active') {
      return { active: false };
    }
    const { id, userId, userRoles, absoluteExpiresAt, createdAt, authTime, amr } = result.session;
    const acr = acrOf(amr);
    return {
      active: true,
      token_type: SESSION_COOKIE_HINT,
      sub: userId,
      sid: id,
      roles: userRoles,
      exp: Math.floor(absoluteExpiresAt.getTime() / 1000),
      iat: Math.floor(createdAt.getTime() / 1000),
      auth_time: Math.floor((authTime ?? createdAt).getTime() / 1000),
      ...(amr ? { amr } : {}),
      ...(acr ? { acr } : {}),
    };
  }
}

type SessionIntrospectionResponse =
  | { active: false }
  | {
      active: true;
      token_type: typeof SESSION_COOKIE_HINT;
      sub: string;
      sid: string;
      roles: string[];
      exp: number;
      iat: number;
      auth_time: number;
      amr?: string[];
      acr?: string;
    };
