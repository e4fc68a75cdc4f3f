import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  ClientService,
  type Introspection,
  OAuthError,
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
  ) {}

  @Post('introspect')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Token introspection (RFC 7662), for confidential clients.',
    description:
      'Access and refresh tokens. `{active: false}` for anything unknown, expired, used or revoked — an access token whose session was revoked is inactive at once.',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: TokenParamRequestDto })
  @ApiOkResponse({ type: IntrospectionResponseDto })
  @ApiUnauthorizedResponse({ type: OAuthErrorResponseDto, description: '`invalid_client`.' })
  async introspect(
    @Body() body: OAuthBody,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<Introspection> {
    const client = await this.clients.authenticate(clientCredentialsOf(authorization, body));
    if (client.secretHash === null) {
      throw new OAuthError('invalid_client', 'Introspection needs a confidential client.', 401);
    }
    return this.tokens.introspect(requiredParam(body, 'token'), hintOf(body));
  }

  @Post('revoke')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Token revocation (RFC 7009).',
    description:
      "A refresh or access token ends its whole session. Unknown tokens and other clients' tokens also answer 200.",
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
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
}
