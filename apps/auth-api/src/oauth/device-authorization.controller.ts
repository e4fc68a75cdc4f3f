import { Body, Controller, Header, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  ClientService,
  type DeviceAuthorizationResponse,
  DeviceAuthorizationService,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import { clientCredentialsOf, type OAuthBody, optionalParam } from './oauth-params.js';
import {
  DeviceAuthorizationRequestDto,
  DeviceAuthorizationResponseDto,
  OAuthErrorResponseDto,
} from './oauth.dto.js';

@ApiTags('oauth')
@Public()
@Controller('oauth')
export class DeviceAuthorizationController {
  constructor(
    private readonly clients: ClientService,
    private readonly devices: DeviceAuthorizationService,
  ) {}

  @Post('device_authorization')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'Device authorization endpoint (RFC 8628 §3.1): a device code and a user code.',
    description:
      'For CLIs and TVs. Show the user `verification_uri` and `user_code` (or `verification_uri_complete`), then poll `POST /oauth/token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code` every `interval` seconds until it answers tokens, `access_denied` or `expired_token`. The client must be registered with the device code grant.',
  })
  @AcceptsFormBody()
  @ApiBody({ type: DeviceAuthorizationRequestDto })
  @ApiOkResponse({ type: DeviceAuthorizationResponseDto })
  @ApiBadRequestResponse({ type: OAuthErrorResponseDto })
  @ApiUnauthorizedResponse({ type: OAuthErrorResponseDto, description: '`invalid_client`.' })
  @ApiTooManyRequestsResponse({
    type: OAuthErrorResponseDto,
    description:
      '`rate_limited`: 60 requests per client and IP per 15 minutes, with `Retry-After`.',
  })
  async deviceAuthorization(
    @Body() body: OAuthBody,
    @Headers('authorization') authorization: string | undefined,
    @RequestClient() context: ClientContext,
  ): Promise<DeviceAuthorizationResponse> {
    const client = await this.clients.authenticate(clientCredentialsOf(authorization, body));
    return this.devices.start(client, optionalParam(body, 'scope'), context.ip);
  }
}
