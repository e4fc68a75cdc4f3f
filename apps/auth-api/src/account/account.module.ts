import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { AccountController } from './account.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [AccountController],
})
export class AccountModule {}
