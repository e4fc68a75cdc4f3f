import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ApiAuthenticated,
  ApiCsrfChecked,
  ErrorResponseDto,
  RequestClient,
  uuidParam,
} from '@gatehouse/http';
import { ADMIN_SCOPE, type ClientContext, UserAdministrationService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';
import type { User } from '@gatehouse/persistence';

import { SetRolesDto, UserSearchQueryDto } from '../admin-api.dto.js';

function toUser(user: User) {
  return {
    id: user.id,
    email: user.email,
    roles: user.roles,
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

@ApiTags('users')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('users:manage')
@ApiNotFoundResponse({ type: ErrorResponseDto, description: '`USER_NOT_FOUND`.' })
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UserAdministrationService) {}

  @Get()
  @ApiOperation({ summary: 'Find users by email or email prefix (at most 50).' })
  async search(@Query() query: UserSearchQueryDto) {
    return (await this.users.search(query.email)).map(toUser);
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
}
