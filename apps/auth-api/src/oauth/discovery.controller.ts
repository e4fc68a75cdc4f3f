import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  ACR_VALUES_SUPPORTED,
  DEVICE_CODE_GRANT_TYPE,
  MFA_OTP_GRANT_TYPE,
  SigningKeyService,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { JSONWebKeySet } from 'jose';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

/** RFC 8414 / OpenID Connect Discovery metadata and the RFC 7517 key set. */
@ApiTags('discovery')
@Public()
@Controller('.well-known')
export class DiscoveryController {
  private readonly metadata: Record<string, unknown>;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly keys: SigningKeyService,
  ) {
    const issuer = config.issuer;
    // Exactly what is served.
    this.metadata = {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
      end_session_endpoint: `${issuer}/oauth/end_session`,
      // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry `sid` (always).
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      grant_types_supported: [
        'authorization_code',
        'password',
        'refresh_token',
        'client_credentials',
        DEVICE_CODE_GRANT_TYPE,
        MFA_OTP_GRANT_TYPE,
      ],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      scopes_supported: ['openid', 'email'],
      subject_types_supported: ['public'],
      acr_values_supported: ACR_VALUES_SUPPORTED,
      id_token_signing_alg_values_supported: [config.keys.algorithm],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'amr',
        'acr',
        'nonce',
        'sid',
        'at_hash',
        'email',
        'email_verified',
      ],
      token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
      gatehouse_access_token_audience: config.tokens.audience,
      gatehouse_access_token_signing_alg_values_supported: ['ES256', 'RS256', 'EdDSA'],
    };
  }

  @Get('openid-configuration')
  @Header('cache-control', 'public, max-age=3600')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414, OIDC Discovery).' })
  @ApiOkResponse({ schema: { type: 'object', example: { issuer: 'http://localhost:3000' } } })
  configuration(): Record<string, unknown> {
    return this.metadata;
  }

  @Get('jwks.json')
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({
    summary: 'The public signing keys (RFC 7517): next, active and recently retired.',
  })
  @ApiOkResponse({ schema: { type: 'object', example: { keys: [{ kty: 'EC', kid: '…' }] } } })
  jwks(): Promise<JSONWebKeySet> {
    return this.keys.jwks();
  }
}
