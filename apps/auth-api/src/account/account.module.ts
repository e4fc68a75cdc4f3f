import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { AccountController } from './account.controller.js';
import { MeController } from './me.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [AccountController, MeController],
})
export class AccountModule {}
