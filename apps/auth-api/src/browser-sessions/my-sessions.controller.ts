import { Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ACCOUNT_SCOPE, type ClientContext, SessionService } from '@gatehouse/identity';
import { CurrentUser, RequireScopes } from '@gatehouse/nest-auth';
import type { FastifyReply } from 'fastify';

import {
  MySessionResponseDto,
  RevokeOthersResponseDto,
  toSessionResponse,
} from './browser-sessions.dto.js';
import { clearSessionCookie } from './session-cookie.js';

/** Self-service: a user sees and ends their own sessions, browser and token alike. */
@ApiTags('sessions')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me/sessions')
export class MySessionsController {
  private readonly cookieName: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly sessions: SessionService,
  ) {
    this.cookieName = config.session.cookieName;
  }

  @Get()
  @ApiOperation({ summary: "The caller's live sessions, newest first (at most 200)." })
  @ApiOkResponse({ type: [MySessionResponseDto] })
  async list(@CurrentUser() caller: CurrentUser): Promise<MySessionResponseDto[]> {
    const sessions = await this.sessions.listLive(caller.userId());
    return sessions.map((session) => ({
      ...toSessionResponse(session),
      current: session.id === caller.sessionId,
    }));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'End one of your sessions (your current one too, which also clears the cookie).',
  })
  @ApiNoContentResponse({ description: 'Revoked (or already ended).' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: '`VALIDATION_FAILED`: not a UUID.',
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "`SESSION_NOT_FOUND`, also for another user's session.",
  })
  async revoke(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.sessions.revokeOne(caller.userId(), id, client);
    // UUIDs compare case-insensitively in PostgreSQL; the caller's id comes back lower-case.
    if (id.toLowerCase() === caller.sessionId) {
      clearSessionCookie(reply, this.cookieName);
    }
  }

  @Post('revoke-others')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Sign out everywhere but here.' })
  @ApiOkResponse({ type: RevokeOthersResponseDto })
  async revokeOthers(
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<RevokeOthersResponseDto> {
    return { revoked: await this.sessions.revokeOthers(caller.userId(), caller.sessionId, client) };
  }
}
