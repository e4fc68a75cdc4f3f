import { Body, Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  validatedCookieSession,
} from '@gatehouse/http';
import {
  ACCOUNT_SCOPE,
  type ClientContext,
  SessionService,
  UserService,
} from '@gatehouse/identity';
import { CurrentUser, currentUserOf, RequireFreshAuth, RequireScopes } from '@gatehouse/nest-auth';
import type { CookieSessionWithUser } from '@gatehouse/persistence';
import type { FastifyRequest } from 'fastify';

import { SessionResponseDto, toSessionResponse } from '../browser-sessions/browser-sessions.dto.js';
import { ChangePasswordRequestDto, toUserResponse, UserResponseDto } from './account.dto.js';
import { SENSITIVE_CHANGE_MAX_AGE_SECONDS, SIGN_IN_AGAIN } from './sensitive-changes.js';

export class MeResponseDto {
  @ApiProperty({ type: UserResponseDto })
  user!: UserResponseDto;

  @ApiProperty({
    type: SessionResponseDto,
    nullable: true,
    description: 'Null for a service (client credentials) caller.',
  })
  session!: SessionResponseDto | null;
}

/** A cookie caller: the guard already read the session and its user. */
function meFromCookieSession(record: CookieSessionWithUser): MeResponseDto {
  return {
    user: {
      id: record.userId,
      email: record.userEmail,
      emailVerified: record.userEmailVerifiedAt !== null,
      roles: record.userRoles,
      createdAt: record.userCreatedAt.toISOString(),
    },
    session: toSessionResponse(record),
  };
}

type DescribedSession = Awaited<ReturnType<SessionService['describeWithUser']>>;

function meFromDescribedSession({ user, session }: DescribedSession): MeResponseDto {
  return { user: toUserResponse(user), session: toSessionResponse(session) };
}

/**
 * GET /me's answer as JSON text, one per row object, as the introspector keeps one answer per row:
 * rows served from the session cache are never changed in place (a change is a new row), so a cached
 * row is answered without mapping it, formatting its five dates or serialising it again. Serialising
 * the body (JSON.stringify or a compiled fast-json-stringify schema alike) was an eighth of the
 * route's instructions under callgrind. The body holds only what the mapping functions pick.
 */
const texts = new WeakMap<object, string>();

function jsonTextOf<T extends object>(row: T, toBody: (row: T) => MeResponseDto): string {
  let text = texts.get(row);
  if (text === undefined) {
    text = JSON.stringify(toBody(row));
    texts.set(row, text);
  }
  return text;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me')
export class MeController {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Answers JSON text (see `jsonTextOf`): Fastify sends a string of this type as it is. The caller
   * comes off the request (`currentUserOf`), not through `@CurrentUser()`: the route most called
   * skips the global pipes' promise chain.
   */
  @Get()
  @Header('Content-Type', JSON_CONTENT_TYPE)
  @ApiOperation({ summary: 'Who is calling, and through which session.' })
  @ApiOkResponse({ type: MeResponseDto })
  async me(@Req() request: FastifyRequest): Promise<string> {
    const caller = currentUserOf(request);
    const userId = caller.userId();
    if (!caller.sessionId) {
      const body: MeResponseDto = {
        user: toUserResponse(await this.users.get(userId)),
        session: null,
      };
      return JSON.stringify(body);
    }
    const validated = validatedCookieSession(caller);
    if (validated) {
      return jsonTextOf(validated, meFromCookieSession);
    }
    const described = await this.sessions.describeWithUser(caller.sessionId);
    return jsonTextOf(described, meFromDescribedSession);
  }

  @Post('password')
  @HttpCode(204)
  @ApiCsrfChecked()
  @RequireFreshAuth(SENSITIVE_CHANGE_MAX_AGE_SECONDS)
  @ApiOperation({
    summary: 'Change the password; every other session of the account ends.',
    description: `Wrong current passwords count against the login limits. ${SIGN_IN_AGAIN}`,
  })
  @ApiNoContentResponse({ description: 'Changed; this session stays signed in.' })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      '`VALIDATION_FAILED`: `currentPassword is incorrect`, or the new password breaks the policy.',
  })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: '`RATE_LIMITED`.' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      '`SERVICE_BUSY`: too many password hashes queued (sign-ins go first), with `Retry-After`.',
  })
  async changePassword(
    @Body() body: ChangePasswordRequestDto,
    @CurrentUser() caller: CurrentUser,
    @RequestClient() client: ClientContext,
  ): Promise<void> {
    await this.users.changePassword({
      ...body,
      userId: caller.userId(),
      sessionId: caller.sessionId,
      ip: client.ip,
    });
  }
}
