import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked, ErrorResponseDto } from '@gatehouse/http';
import { ADMIN_SCOPE, BackchannelLogoutService, ClientService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';
import type { Client, LogoutDelivery } from '@gatehouse/persistence';

import { CreateClientDto, PageQueryDto, UpdateClientDto } from '../admin-api.dto.js';
import { decodeCursor, keysetPage } from '../keyset-cursor.js';

const iso = (at: Date | string | null) => (at === null ? null : new Date(at).toISOString());

function toLogoutDelivery(delivery: LogoutDelivery) {
  return {
    id: delivery.id,
    clientId: delivery.clientId,
    sessionId: delivery.sessionId,
    userId: delivery.userId,
    uri: delivery.uri,
    reason: delivery.reason,
    status: delivery.status,
    attempts: delivery.attempts,
    lastError: delivery.lastError,
    lastResponseStatus: delivery.lastResponseStatus,
    createdAt: iso(delivery.createdAt),
    lastAttemptAt: iso(delivery.lastAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
  };
}

const LOGOUT_DELIVERY_EXAMPLE = {
  id: '5f0c2b1e-8a3d-4f6e-9c7b-1d2e3f4a5b6c',
  clientId: '3b9e7c1a-2d4f-4a6b-8c9d-0e1f2a3b4c5d',
  sessionId: '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
  userId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  uri: 'https://app.example.com/backchannel-logout',
  reason: 'admin',
  status: 'failed',
  attempts: 2,
  lastError: 'HTTP 503: upstream unavailable',
  lastResponseStatus: 503,
  createdAt: '2026-12-06T18:00:00.000Z',
  lastAttemptAt: '2026-12-06T18:00:10.000Z',
  deliveredAt: null,
};

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
    backchannelLogoutUri: client.backchannelLogoutUri,
    backchannelLogoutSessionRequired: client.backchannelLogoutSessionRequired,
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
  constructor(
    private readonly clients: ClientService,
    private readonly backchannelLogout: BackchannelLogoutService,
  ) {}

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
        backchannelLogoutUri: body.backchannelLogoutUri,
        backchannelLogoutSessionRequired: body.backchannelLogoutSessionRequired,
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

  @Get(':id/logout-deliveries')
  @ApiOperation({
    summary: "The client's back-channel logout tokens, newest first, keyset-paginated.",
    description:
      'One row per logout token (OpenID Connect Back-Channel Logout 1.0) owed to the client for a session that ended: status `queued`, `delivered` (answered 200 or 204), `failed` (another attempt is scheduled), `dead` (BACKCHANNEL_LOGOUT_MAX_ATTEMPTS spent) or `refused` (the SSRF guard refused the URI or the address it resolved to; never retried), with attempts, the last error or response status (at most 256 bytes of the body) and why the session ended. Never the token. Rows stay after the client is deleted. Pass `nextCursor` back as `cursor` for the next page.',
  })
  @ApiOkResponse({ schema: { example: { items: [LOGOUT_DELIVERY_EXAMPLE], nextCursor: null } } })
  async logoutDeliveries(@Param('id') id: string, @Query() query: PageQueryDto) {
    const limit = query.limit ?? 50;
    const rows = await this.backchannelLogout.listDeliveries(
      id,
      decodeCursor(query.cursor, 'uuid'),
      limit,
    );
    return keysetPage(rows, limit, toLogoutDelivery);
  }

  @Patch(':id')
  @ApiCsrfChecked()
  @ApiOperation({
    summary:
      'Change name, grant types, scopes, redirect URIs (also post-logout), the back-channel logout URI or the consent and state flags.',
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
