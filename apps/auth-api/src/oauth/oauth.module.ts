import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { DiscoveryController } from './discovery.controller.js';
import { TokenBootstrap } from './token-bootstrap.js';
import { TokenManagementController } from './token-management.controller.js';
import { TokenController } from './token.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [TokenController, TokenManagementController, DiscoveryController],
  providers: [TokenBootstrap],
})
export class OAuthModule {}
