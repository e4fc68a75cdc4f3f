export { type AuditAction, type AuditEntry, AuditService } from './audit/audit.service.js';
export { Clock } from './clock.js';
export { IdentityModule } from './identity.module.js';
export {
  BootstrapOperatorConflictError,
  EmailTakenError,
  type FieldProblem,
  IdentityError,
  ValidationFailedError,
} from './identity.errors.js';
export { normalizeEmail } from './users/email.js';
export { PasswordHasher } from './users/password-hasher.js';
export {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordProblems,
} from './users/password-policy.js';
export { ADMIN_ROLE, type Registration, UserService } from './users/user.service.js';
