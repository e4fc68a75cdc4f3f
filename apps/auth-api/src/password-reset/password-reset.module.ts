import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { BrowserSignInReader } from '../pages/browser-sign-in.js';
import { PasswordResetPagesController } from '../pages/password-reset-pages.controller.js';
import { PasswordResetController } from './password-reset.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [PasswordResetController, PasswordResetPagesController],
  providers: [BrowserSignInReader],
})
export class PasswordResetModule {}
