import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAuthenticated, ApiCsrfChecked } from '@gatehouse/http';
import { ADMIN_SCOPE, type KeyRotation, SigningKeyService } from '@gatehouse/identity';
import { CurrentUser, RequireCapabilities, RequireScopes } from '@gatehouse/nest-auth';

@ApiTags('signing keys')
@ApiAuthenticated()
@RequireScopes(ADMIN_SCOPE)
@RequireCapabilities('keys:manage')
@Controller('admin/keys')
export class AdminKeysController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get()
  @ApiOperation({
    summary: 'Every signing key with its status (next, active, retired); no secrets.',
  })
  async list() {
    return (await this.keys.list()).map((key) => ({
      kid: key.kid,
      alg: key.alg,
      status: key.status,
      createdAt: key.createdAt.toISOString(),
      activatedAt: key.activatedAt?.toISOString() ?? null,
      retiredAt: key.retiredAt?.toISOString() ?? null,
    }));
  }

  @Post('rotate')
  @HttpCode(200)
  @ApiCsrfChecked()
  @ApiOperation({ summary: 'One rotation step: active → retired, next → active, a new next.' })
  rotate(@CurrentUser() operator: CurrentUser): Promise<KeyRotation> {
    return this.keys.rotate(`user:${operator.userId()}`);
  }
}
