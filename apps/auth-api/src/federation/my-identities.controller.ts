import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ACCOUNT_SCOPE, type ClientContext, FederationService } from '@gatehouse/identity';
import { CurrentUser, RequireScopes } from '@gatehouse/nest-auth';

export class LinkedProviderDto {
  @ApiProperty({ example: 'acme' })
  slug!: string;

  @ApiProperty({ example: 'Acme SSO' })
  displayName!: string;
}

export class LinkedIdentityDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ type: LinkedProviderDto })
  provider!: LinkedProviderDto;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'The email the provider gave at the last sign-in.',
  })
  email!: string | null;

  @ApiProperty({ format: 'date-time' })
  linkedAt!: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  lastSignInAt!: string | null;
}

/**
 * The caller's linked upstream accounts (issue 20). Linking is a browser navigation:
 * `GET /federation/{slug}/start?link=1` with the cookie session.
 */
@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me/identities')
export class MyIdentitiesController {
  constructor(private readonly federation: FederationService) {}

  @Get()
  @ApiOperation({ summary: 'The identity providers linked to your account.' })
  @ApiOkResponse({ type: [LinkedIdentityDto] })
  async list(@CurrentUser() caller: CurrentUser): Promise<LinkedIdentityDto[]> {
    return (await this.federation.listIdentities(caller.userId())).map((identity) => ({
      id: identity.id,
      provider: { ...identity.provider },
      email: identity.email,
      linkedAt: identity.linkedAt.toISOString(),
      lastSignInAt: identity.lastSignInAt?.toISOString() ?? null,
    }));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Unlink a provider; sessions it started stay.',
    description:
      'Refused (409 `LAST_SIGN_IN_METHOD`) when it is your only way to sign in: no password and no other linked provider.',
  })
  @ApiNoContentResponse({ description: 'Unlinked.' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: '`FEDERATED_IDENTITY_NOT_FOUND`.' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: '`LAST_SIGN_IN_METHOD`.' })
  async unlink(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    await this.federation.unlink(caller.userId(), id, client.ip);
  }
}
