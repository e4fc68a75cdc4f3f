import { Controller, Get, Header } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, ErrorResponseDto } from '@gatehouse/http';
import { claimsFor, UserService } from '@gatehouse/identity';
import { CurrentUser, RequireScopes } from '@gatehouse/nest-auth';

/** OpenID Connect Core §5.3: the claims the access token's scopes release, about its user. */
@ApiTags('oauth')
@ApiAuthenticated()
@Controller('oauth')
export class UserInfoController {
  constructor(private readonly users: UserService) {}

  @Get('userinfo')
  @Header('cache-control', 'no-store')
  @RequireScopes('openid')
  @ApiOperation({
    summary: 'UserInfo endpoint (OpenID Connect): sub, and email with the email scope.',
    description: 'A bearer access token granted the openid scope.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      example: { sub: '7c1d…', email: 'ada@example.com', email_verified: false },
    },
  })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: '`FORBIDDEN`: no openid scope.' })
  async userInfo(@CurrentUser() caller: CurrentUser): Promise<Record<string, unknown>> {
    const user = await this.users.get(caller.userId());
    return { sub: user.id, ...claimsFor(caller.scopes.join(' '), user) };
  }
}
