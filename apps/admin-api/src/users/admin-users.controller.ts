import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
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
import {
  ADMIN_SCOPE,
  type ClientContext,
  EmailVerificationService,
  PasswordResetService,
  UserAdministrationService,
} from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';
import type { User } from '@gatehouse/persistence';

import { SetRolesDto, UserListQueryDto } from '../admin-api.dto.js';
import { decodeCursor, keysetPage } from '../keyset-cursor.js';

function toUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    roles: user.roles,
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt?.toISOString() ?? null,
    emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

const USER_EXAMPLE = {
  id: '5f1d7a2e-8c4b-4e0a-b1f2-3c4d5e6f7a8b',
  email: 'ada@example.com',
  roles: ['support'],
  disabled: false,
  disabledAt: null,
  emailVerifiedAt: '2025-01-01T10:05:00.000Z',
  createdAt: '2025-01-01T10:00:00.000Z',
};

@ApiTags('users')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('users:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`USER_NOT_FOUND`.' })
@Controller('admin/users')
export class AdminUsersController {
  constructor(
    private readonly users: UserAdministrationService,
    private readonly resets: PasswordResetService,
    private readonly verifications: EmailVerificationService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Every user, newest first, keyset-paginated; optionally those with an email prefix.',
    description:
      'Pass `nextCursor` back as `cursor` for the next page. An empty `email=` lists every user, page by page.',
  })
  @ApiOkResponse({ schema: { example: { items: [USER_EXAMPLE], nextCursor: null } } })
  async list(@Query() query: UserListQueryDto) {
    const limit = query.limit ?? 50;
    const rows = await this.users.list(query.email, decodeCursor(query.cursor, 'uuid'), limit);
    return keysetPage(rows, limit, toUser);
  }

  @Get(':id')
  async get(@Param('id', uuidParam()) id: string) {
    return toUser(await this.users.get(id));
  }

  @Put(':id/roles')
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Replace the roles (admin, support, or app-defined ones).' })
  async setRoles(
    @Param('id', uuidParam()) id: string,
    @Body() body: SetRolesDto,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toUser(await this.users.setRoles(id, body.roles, operator.userId(), client));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'Disable: every session ends at once; login and refresh are refused.' })
  async disable(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toUser(await this.users.disable(id, operator.userId(), client));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiCsrfChecked()
  async enable(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toUser(await this.users.enable(id, operator.userId(), client));
  }

  @Post(':id/email-verified')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Mark the address verified, e.g. for users who predate email verification.',
    description:
      'An earlier verification date is kept; pending verification links stop working. Audited as `admin.user_email_verified` with the operator.',
  })
  @ApiOkResponse({ schema: { example: USER_EXAMPLE } })
  async markEmailVerified(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    return toUser(await this.verifications.markVerifiedByOperator(id, operator.userId(), client));
  }

  @Post(':id/password-reset')
  @HttpCode(202)
  @ApiCsrfChecked()
  @ApiOperation({
    summary: 'Mail the user a link to choose a new password, as if they had asked for one.',
    description:
      'The link replaces any earlier one and works for `PASSWORD_RESET_TTL_SECONDS`; nothing else changes until the user uses it (then every session ends). Audited as `admin.password_reset_sent` with the operator. The mail is listed at `GET /admin/mail`.',
  })
  @ApiAcceptedResponse({
    schema: {
      example: {
        mailId: '0b9e3c1a-4d2f-4e8a-9c7b-1a2b3c4d5e6f',
        expiresAt: '2025-01-01T10:30:00.000Z',
      },
    },
  })
  @ApiConflictResponse({ type: ErrorResponseDto, description: '`USER_DISABLED`.' })
  async sendPasswordReset(
    @Param('id', uuidParam()) id: string,
    @CurrentUser() operator: CurrentUser,
    @RequestClient() client: ClientContext,
  ) {
    const sent = await this.resets.sendOnBehalf(id, operator.userId(), client);
    return { mailId: sent.mailId, expiresAt: sent.expiresAt.toISOString() };
  }
}
