import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { BrowserSessionsController } from './browser-sessions.controller.js';
import { MySessionsController } from './my-sessions.controller.js';
import { PasskeySignInController } from './passkey-sign-in.controller.js';
import { SessionHousekeepingScheduler } from './session-housekeeping.scheduler.js';

@Module({
  imports: [IdentityModule],
  controllers: [BrowserSessionsController, PasskeySignInController, MySessionsController],
  providers: [SessionHousekeepingScheduler],
})
export class BrowserSessionsModule {}
