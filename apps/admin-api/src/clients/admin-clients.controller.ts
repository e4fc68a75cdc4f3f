import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked, ErrorResponseDto } from '@gatehouse/http';
import { ADMIN_SCOPE, ClientService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';
import type { Client } from '@gatehouse/persistence';

import { CreateClientDto, UpdateClientDto } from '../admin-api.dto.js';

function toClient(client: Client) {
  return {
    clientId: client.id,
    name: client.name,
    public: client.secretHash === null,
    firstParty: client.firstParty,
    resourceServer: client.resourceServer,
    audience: client.audience,
    grantTypes: client.grantTypes,
    scopes: client.scopes,
    redirectUris: client.redirectUris,
    postLogoutRedirectUris: client.postLogoutRedirectUris,
    requireConsent: client.requireConsent,
    requireState: client.requireState,
    createdAt: client.createdAt.toISOString(),
  };
}

@ApiTags('clients')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('clients:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`CLIENT_NOT_FOUND`.' })
@ApiConflictResponse({
  type: ErrorResponseDto,
  description:
    '`CLIENT_PROTECTED`: the first-party client (`FIRST_PARTY_CLIENT_ID`) cannot be deleted or made third-party; a public client has no secret to rotate.',
})
@Controller('admin/clients')
export class AdminClientsController {
  constructor(private readonly clients: ClientService) {}

  @Post()
  @HttpCode(201)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Register a client; the secret is shown once and stored hashed.' })
  async create(@Body() body: CreateClientDto, @CurrentUser() operator: CurrentUser) {
    const { client, clientSecret } = await this.clients.create(
      {
        name: body.name,
        grantTypes: body.grantTypes,
        scopes: body.scopes,
        redirectUris: body.redirectUris,
        postLogoutRedirectUris: body.postLogoutRedirectUris,
        public: body.public,
        requireConsent: body.requireConsent,
        requireState: body.requireState,
        firstParty: body.firstParty,
        resourceServer: body.resourceServer,
        audience: body.audience,
      },
      `user:${operator.userId()}`,
    );
    return { ...toClient(client), clientSecret };
  }

  @Get()
  async list() {
    return (await this.clients.list()).map(toClient);
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    return toClient(await this.clients.get(id));
  }

  @Patch(':id')
  @ApiCsrfChecked()
  @ApiOperation({
    summary:
      'Change name, grant types, scopes, redirect URIs (also post-logout) or the consent and state flags.',
    description:
      'The first-party client (`FIRST_PARTY_CLIENT_ID`) too: it stays first-party (`firstParty: false` is 409 `CLIENT_PROTECTED`) and keeps its password grant. A change that takes a scope, a grant or first-party status away revokes the sessions of the client.',
  })
  async update(
    @Param('id') id: string,
    @Body() body: UpdateClientDto,
    @CurrentUser() operator: CurrentUser,
  ) {
    return toClient(await this.clients.update(id, body, `user:${operator.userId()}`));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'A new secret, shown once; the old one stops working at once.' })
  async rotateSecret(@Param('id') id: string, @CurrentUser() operator: CurrentUser) {
    return { clientSecret: await this.clients.rotateSecret(id, `user:${operator.userId()}`) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Delete the client; its sessions are revoked (feed) and removed.' })
  async remove(@Param('id') id: string, @CurrentUser() operator: CurrentUser): Promise<void> {
    await this.clients.delete(id, `user:${operator.userId()}`);
  }
}
