import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { BrowserSignInReader } from '../pages/browser-sign-in.js';
import { EmailPagesController } from '../pages/email-pages.controller.js';
import { AccountController } from './account.controller.js';
import { EmailLinksController } from './email-links.controller.js';
import { MeController } from './me.controller.js';
import { MfaController } from './mfa.controller.js';
import { MyEmailController } from './my-email.controller.js';
import { PasskeysController } from './passkeys.controller.js';

@Module({
  imports: [IdentityModule],
  controllers: [
    AccountController,
    MeController,
    MyEmailController,
    MfaController,
    PasskeysController,
    EmailLinksController,
    EmailPagesController,
  ],
  providers: [BrowserSignInReader],
})
export class AccountModule {}
