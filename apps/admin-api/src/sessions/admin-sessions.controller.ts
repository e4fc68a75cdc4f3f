import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ADMIN_SCOPE, type ClientContext, SessionAdministrationService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';
import type { AdminSessionRow } from '@gatehouse/persistence';

import { RevokeSessionDto, SessionListQueryDto } from '../admin-api.dto.js';
import { decodeCursor, encodeCursor } from '../keyset-cursor.js';

function toSession(row: AdminSessionRow, now: Date) {
  const active = !row.revokedAt && row.idleExpiresAt > now && row.absoluteExpiresAt > now;
  return {
    id: row.id,
    user: { id: row.userId, email: row.userEmail },
    kind: row.kind,
    client: row.clientId === null ? null : { id: row.clientId, name: row.clientName ?? '' },
    amr: row.amr,
    identityProvider: row.identityProvider,
    ip: row.ip,
    userAgent: row.userAgent,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    idleExpiresAt: row.idleExpiresAt.toISOString(),
    expiresAt: row.absoluteExpiresAt.toISOString(),
    active,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    revokedReason: row.revokedReason,
    revokedNote: row.revokedNote,
    revokedBy: row.revokedBy,
  };
}

const SESSION_EXAMPLE = {
  id: '0b7e4c1e-5d0f-4b8e-9a53-2f0c2b3c9d11',
  user: { id: '5f1d7a2e-8c4b-4e0a-b1f2-3c4d5e6f7a8b', email: 'ada@example.com' },
  kind: 'cookie',
  client: null,
  amr: ['fed'],
  identityProvider: 'corp-sso',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
  createdAt: '2025-01-01T10:00:00.000Z',
  lastSeenAt: '2025-01-01T10:05:00.000Z',
  idleExpiresAt: '2025-01-02T10:05:00.000Z',
  expiresAt: '2025-01-08T10:00:00.000Z',
  active: false,
  revokedAt: '2025-01-01T11:00:00.000Z',
  revokedReason: 'admin',
  revokedNote: 'stolen laptop',
  revokedBy: 'user:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
};

@ApiTags('sessions')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@Controller('admin')
export class AdminSessionsController {
  constructor(private readonly sessions: SessionAdministrationService) {}

  @Get('sessions')
  @RequireCapabilities('sessions:read')
  @ApiOperation({
    summary: 'Every session, cookie and token, newest first; filters and keyset pagination.',
    description: 'Pass `nextCursor` back as `cursor` for the next page; stable under inserts.',
  })
  @ApiOkResponse({ schema: { example: { items: [SESSION_EXAMPLE], nextCursor: null } } })
  async list(@Query() query: SessionListQueryDto) {
    const cursor = decodeCursor(query.cursor, 'uuid');
    const page = await this.sessions.list(
      query,
      cursor && { createdAt: cursor.at, id: cursor.id },
      query.limit ?? 50,
    );
    const now = new Date();
    return {
      items: page.items.map((row) => toSession(row, now)),
      nextCursor: page.next && encodeCursor({ at: page.next.createdAt, id: page.next.id }),
    };
  }

  @Get('sessions/:id')
  @RequireCapabilities('sessions:read')
  @ApiOkResponse({
    description:
      '`revokedReason` is a stable code (`admin` for a forced revocation, `logout`, `user_disabled`…); `revokedNote` is the text the operator gave with `DELETE /admin/sessions/:id`.',
    schema: { example: SESSION_EXAMPLE },
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: '`SESSION_NOT_FOUND`.' })
  async get(@Param('id', uuidParam()) id: string) {
    return toSession(await this.sessions.get(id), new Date());
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @RequireCapabilities('sessions:revoke')
  @ApiCsrfChecked()
  @ApiOperation({
    summary:
      'Force revocation: the cookie dies, the refresh family dies, access tokens are refused everywhere (feed).',
    description:
      'The session is listed with `revokedReason: "admin"` and the `reason` given as `revokedNote` (also in the audit event).',
  })
  @ApiNoContentResponse()
  async revoke(
    @Param('id', uuidParam()) id: string,
    @Body() body: RevokeSessionDto,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    await this.sessions.revoke(id, operator.userId(), body.reason ?? null, client);
  }

  @Post('users/:id/revoke-sessions')
  @HttpCode(200)
  @RequireCapabilities('sessions:revoke')
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Revoke every live session of a user.' })
  @ApiOkResponse({ schema: { example: { revoked: 3 } } })
  async revokeAllForUser(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<{ revoked: number }> {
    return { revoked: await this.sessions.revokeAllForUser(id, operator.userId(), client) };
  }
}
