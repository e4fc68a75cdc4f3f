import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { BrowserSignInReader } from '../pages/browser-sign-in.js';
import { FederationPagesController } from './federation-pages.controller.js';
import { MyIdentitiesController } from './my-identities.controller.js';

/** Sign-in through upstream identity providers, and the user's links to them (issue 20). */
@Module({
  imports: [IdentityModule],
  controllers: [FederationPagesController, MyIdentitiesController],
  providers: [BrowserSignInReader],
})
export class FederationModule {}
