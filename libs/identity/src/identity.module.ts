import { Module } from '@nestjs/common';

import { AuditService } from './audit/audit.service.js';
import { Clock } from './clock.js';
import { PasswordHasher } from './users/password-hasher.js';
import { UserService } from './users/user.service.js';

/** The product's rules. Needs `PersistenceModule` (global) in the importing app. */
@Module({
  providers: [Clock, PasswordHasher, AuditService, UserService],
  exports: [Clock, PasswordHasher, AuditService, UserService],
})
export class IdentityModule {}
