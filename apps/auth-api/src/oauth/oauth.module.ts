import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { AuthorizationPagesController } from '../pages/authorization-pages.controller.js';
import { DiscoveryController } from './discovery.controller.js';
import { TokenBootstrap } from './token-bootstrap.js';
import { TokenManagementController } from './token-management.controller.js';
import { TokenController } from './token.controller.js';
import { UserInfoController } from './userinfo.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [
    TokenController,
    TokenManagementController,
    DiscoveryController,
    AuthorizationPagesController,
    UserInfoController,
  ],
  providers: [TokenBootstrap],
})
export class OAuthModule {}
