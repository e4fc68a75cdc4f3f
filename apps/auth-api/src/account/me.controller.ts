import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
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
import { RouteSchema } from '@nestjs/platform-fastify';
import { CurrentUser, RequireFreshAuth, RequireScopes } from '@gatehouse/nest-auth';
import type { CookieSessionWithUser } from '@gatehouse/persistence';

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

const string = { type: 'string' } as const;
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });

/**
 * GET /me's 200 body for Fastify (fast-json-stringify, compiled once): faster than JSON.stringify on
 * this hot route, and nothing outside the schema can ever be serialised.
 */
const ME_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['user', 'session'],
  properties: {
    user: {
      type: 'object',
      required: ['id', 'email', 'emailVerified', 'roles', 'createdAt'],
      properties: {
        id: string,
        email: string,
        emailVerified: { type: 'boolean' },
        roles: { type: 'array', items: string },
        createdAt: string,
      },
    },
    session: nullable({
      type: 'object',
      required: [
        'id',
        'kind',
        'createdAt',
        'lastSeenAt',
        'idleExpiresAt',
        'expiresAt',
        'ip',
        'userAgent',
        'client',
        'amr',
        'authTime',
        'identityProvider',
      ],
      properties: {
        id: string,
        kind: string,
        createdAt: string,
        lastSeenAt: string,
        idleExpiresAt: string,
        expiresAt: string,
        ip: nullable(string),
        userAgent: nullable(string),
        client: nullable({
          type: 'object',
          required: ['id', 'name'],
          properties: { id: string, name: string },
        }),
        amr: nullable({ type: 'array', items: string }),
        authTime: nullable(string),
        identityProvider: nullable(string),
      },
    }),
  },
} as const;

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
 * One body per row object, as the introspector keeps one answer per row: rows served from the
 * session cache are never changed in place (a change is a new row), so a cached row is answered
 * without mapping it (and formatting its five dates) again.
 */
const bodies = new WeakMap<object, MeResponseDto>();

function bodyOf<T extends object>(row: T, toBody: (row: T) => MeResponseDto): MeResponseDto {
  let body = bodies.get(row);
  if (!body) {
    body = toBody(row);
    bodies.set(row, body);
  }
  return body;
}

@ApiTags('account')
@ApiAuthenticated()
@RequireScopes(ACCOUNT_SCOPE)
@Controller('me')
export class MeController {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
  ) {}

  @Get()
  @RouteSchema({ response: { 200: ME_RESPONSE_SCHEMA } })
  @ApiOperation({ summary: 'Who is calling, and through which session.' })
  @ApiOkResponse({ type: MeResponseDto })
  async me(@CurrentUser() caller: CurrentUser): Promise<MeResponseDto> {
    const userId = caller.userId();
    if (!caller.sessionId) {
      return { user: toUserResponse(await this.users.get(userId)), session: null };
    }
    const validated = validatedCookieSession(caller);
    if (validated) {
      return bodyOf(validated, meFromCookieSession);
    }
    return bodyOf(await this.sessions.describeWithUser(caller.sessionId), meFromDescribedSession);
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
