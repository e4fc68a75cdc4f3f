import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked, ErrorResponseDto } from '@gatehouse/http';
import {
  ADMIN_SCOPE,
  IdentityProviderService,
  type IdentityProviderView,
} from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

import {
  CreateIdentityProviderDto,
  IdentityProviderDto,
  UpdateIdentityProviderDto,
} from './identity-provider.dto.js';

function toDto(provider: IdentityProviderView): IdentityProviderDto {
  return {
    ...provider,
    scopes: [...provider.scopes],
    allowedEmailDomains: [...provider.allowedEmailDomains],
    claimMapping: { email: '', ...provider.claimMapping },
    saml: provider.saml && {
      ...provider.saml,
      idpCertFingerprints: [...provider.saml.idpCertFingerprints],
    },
    createdAt: provider.createdAt.toISOString(),
    updatedAt: provider.updatedAt.toISOString(),
  };
}

/**
 * Upstream identity providers (issue 20): users sign in at them and get an ordinary local session.
 * The client secret is write-only (sealed at rest); every change is audited.
 */
@ApiTags('identity providers')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('providers:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`IDENTITY_PROVIDER_NOT_FOUND`.' })
@Controller('admin/identity-providers')
export class AdminIdentityProvidersController {
  constructor(private readonly providers: IdentityProviderService) {}

  @Post()
  @HttpCode(201)
  @ApiCsrfChecked()
  @ApiOperation({
    summary:
      'Register an OpenID Connect or SAML 2.0 provider; its redirect URI (SAML: ACS and SP metadata URLs) is in the answer.',
    description:
      'OIDC: discovery happens when the provider is first used (then cached for 10 minutes), not here; the client secret is sealed under KEY_ENCRYPTION_KEY and never returned. SAML: `entryPoint` and `idpCert` (PEM, one or more), or `idpMetadataXml` to read them from; the certificates must parse.',
  })
  @ApiCreatedResponse({ type: IdentityProviderDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`VALIDATION_FAILED`: slug, issuer or entryPoint (https; http only on loopback outside production), scopes without openid, certificates that do not parse…',
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: '`IDENTITY_PROVIDER_SLUG_TAKEN`.' })
  async create(
    @Body() body: CreateIdentityProviderDto,
    @CurrentUser() operator: CurrentUser,
  ): Promise<IdentityProviderDto> {
    return toDto(await this.providers.create(body, `user:${operator.userId()}`));
  }

  @Get()
  @ApiOperation({ summary: 'Every identity provider, by slug; never a secret.' })
  @ApiOkResponse({ type: [IdentityProviderDto] })
  async list(): Promise<IdentityProviderDto[]> {
    return (await this.providers.list()).map(toDto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One identity provider; never its secret.' })
  @ApiOkResponse({ type: IdentityProviderDto })
  async get(@Param('id') id: string): Promise<IdentityProviderDto> {
    return toDto(await this.providers.get(id));
  }

  @Patch(':id')
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Change a provider (not its type or slug); disable it with `enabled: false`.',
    description:
      'A disabled provider disappears from the sign-in page and its callbacks are refused; links and sessions stay. The next use discovers the issuer again.',
  })
  @ApiOkResponse({ type: IdentityProviderDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: '`VALIDATION_FAILED`.' })
  async update(
    @Param('id') id: string,
    @Body() body: UpdateIdentityProviderDto,
    @CurrentUser() operator: CurrentUser,
  ): Promise<IdentityProviderDto> {
    return toDto(await this.providers.update(id, body, `user:${operator.userId()}`));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Delete a provider and the links of users to it.',
    description:
      'Existing sessions stay (revoke them through /admin/sessions if needed). Users without a password and without another link can then only recover their account by a password reset.',
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  async remove(@Param('id') id: string, @CurrentUser() operator: CurrentUser): Promise<void> {
    await this.providers.delete(id, `user:${operator.userId()}`);
  }
}
