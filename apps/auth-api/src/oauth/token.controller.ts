import { Body, Controller, Header, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  ClientService,
  DEVICE_CODE_GRANT_TYPE,
  invalidRequest,
  MFA_OTP_GRANT_TYPE,
  type SecondFactorProof,
  TokenGrantsService,
  type TokenResponse,
  unsupportedGrantType,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';

import {
  clientCredentialsOf,
  type OAuthBody,
  optionalParam,
  requiredParam,
  resourceParams,
} from './oauth-params.js';
import { OAuthErrorResponseDto, TokenRequestDto, TokenResponseDto } from './oauth.dto.js';

@ApiTags('oauth')
@Public()
@Controller('oauth')
export class TokenController {
  constructor(
    private readonly clients: ClientService,
    private readonly grants: TokenGrantsService,
  ) {}

  @Post('token')
  @HttpCode(200)
  @Header('pragma', 'no-cache')
  @ApiOperation({
    summary:
      'Token endpoint (RFC 6749 §3.2): authorization_code (PKCE), password, refresh_token, client_credentials, device_code (RFC 8628), urn:gatehouse:params:oauth:grant-type:mfa-otp.',
    description:
      'Form-encoded or JSON. The device code grant answers `authorization_pending`, `slow_down` (poll less often: 5 s more), `access_denied` or `expired_token` until the user approves. Clients authenticate with client_secret_basic or client_secret_post; public clients send client_id. The password grant is for first-party clients only; for a user with a second factor it answers 400 `mfa_required` with an `mfa_token` (single use, 5 minutes), which the mfa-otp grant redeems with `otp` (or `recovery_code`) for the same token response. Refresh tokens rotate on every use; a reused one revokes its session.',
  })
  @AcceptsFormBody()
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiBadRequestResponse({ type: OAuthErrorResponseDto })
  @ApiUnauthorizedResponse({ type: OAuthErrorResponseDto, description: '`invalid_client`.' })
  @ApiTooManyRequestsResponse({
    type: OAuthErrorResponseDto,
    description: '`rate_limited` (password grant), with `Retry-After`.',
  })
  @ApiServiceUnavailableResponse({
    type: OAuthErrorResponseDto,
    description:
      '`temporarily_unavailable` (password grant): too many password hashes queued, with `Retry-After`.',
  })
  async token(
    @Body() body: OAuthBody,
    @Headers('authorization') authorization: string | undefined,
    @RequestClient() context: ClientContext,
  ): Promise<TokenResponse> {
    const grantType = requiredParam(body, 'grant_type');
    const client = await this.clients.authenticate(clientCredentialsOf(authorization, body));
    const scope = optionalParam(body, 'scope');
    const resources = resourceParams(body);
    switch (grantType) {
      case 'password':
        return this.grants.password(
          client,
          {
            username: requiredParam(body, 'username'),
            password: requiredParam(body, 'password'),
            scope,
            resources,
          },
          context,
        );
      case 'authorization_code':
        return this.grants.authorizationCode(
          client,
          {
            code: requiredParam(body, 'code'),
            redirectUri: requiredParam(body, 'redirect_uri'),
            codeVerifier: requiredParam(body, 'code_verifier'),
            resources,
          },
          context,
        );
      case 'refresh_token':
        return this.grants.refresh(client, requiredParam(body, 'refresh_token'), context, {
          scope,
          resources,
        });
      case 'client_credentials':
        return this.grants.clientCredentials(client, { scope, resources });
      case MFA_OTP_GRANT_TYPE:
        return this.grants.mfaOtp(
          client,
          {
            mfaToken: requiredParam(body, 'mfa_token'),
            proof: secondFactorOf(body),
            scope,
            resources,
          },
          context,
        );
      case DEVICE_CODE_GRANT_TYPE:
        return this.grants.deviceCode(client, requiredParam(body, 'device_code'), context);
      default:
        throw unsupportedGrantType(grantType);
    }
  }
}

/** `otp` or `recovery_code`, exactly one. */
function secondFactorOf(body: OAuthBody): SecondFactorProof {
  const otp = optionalParam(body, 'otp');
  const recoveryCode = optionalParam(body, 'recovery_code');
  if ((otp === undefined) === (recoveryCode === undefined)) {
    throw invalidRequest('Send either otp or recovery_code.');
  }
  return otp !== undefined ? { code: otp } : { recoveryCode: recoveryCode! };
}
