import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked } from '@gatehouse/http';
import { ClientService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities } from '@gatehouse/nest-auth';
import type { Client } from '@gatehouse/persistence';

import { CreateClientDto } from '../admin-api.dto.js';

function toClient(client: Client) {
  return {
    clientId: client.id,
    name: client.name,
    public: client.secretHash === null,
    firstParty: client.firstParty,
    grantTypes: client.grantTypes,
    scopes: client.scopes,
    redirectUris: client.redirectUris,
    createdAt: client.createdAt.toISOString(),
  };
}

@ApiTags('clients')
@ApiAuthenticated()
@RequireCapabilities('clients:manage')
@Controller('admin/clients')
export class AdminClientsController {
  constructor(private readonly clients: ClientService) {}

  @Post()
  @HttpCode(201)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Register a client; the secret is shown once and stored hashed.' })
  async create(@Body() body: CreateClientDto, @CurrentUser() operator: CurrentUser) {
    const { client, clientSecret } = await this.clients.create(
      { name: body.name, grantTypes: body.grantTypes, scopes: body.scopes, public: body.public },
      `user:${operator.userId()}`,
    );
    return { ...toClient(client), clientSecret };
  }

  @Get()
  async list() {
    return (await this.clients.list()).map(toClient);
  }
}
