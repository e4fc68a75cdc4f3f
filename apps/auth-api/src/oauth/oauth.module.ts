import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { AuthorizationPagesController } from '../pages/authorization-pages.controller.js';
import { BrowserSignInReader } from '../pages/browser-sign-in.js';
import { DevicePagesController } from '../pages/device-pages.controller.js';
import { EndSessionPagesController } from '../pages/end-session-pages.controller.js';
import { DeviceAuthorizationController } from './device-authorization.controller.js';
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
    DeviceAuthorizationController,
    DevicePagesController,
    EndSessionPagesController,
  ],
  providers: [TokenBootstrap, BrowserSignInReader],
})
export class OAuthModule {}
