export { type AuditAction, type AuditEntry, AuditService } from './audit/audit.service.js';
export { Clock } from './clock.js';
export { IdentityModule } from './identity.module.js';
export {
  BootstrapOperatorConflictError,
  EmailTakenError,
  type FieldProblem,
  IdentityError,
  InvalidCredentialsError,
  RateLimitedError,
  SessionNotFoundError,
  UserNotFoundError,
  ValidationFailedError,
} from './identity.errors.js';
export { LoginLimiter } from './rate-limits/login-limiter.js';
export {
  REVOCATION_FEED_SECONDS,
  RevocationService,
  type SessionRevocation,
} from './revocations/revocation.service.js';
export { type HousekeepingResult, SessionHousekeeping } from './sessions/session-housekeeping.js';
export {
  type ClientContext,
  type CookieAuthentication,
  SessionService,
  type StartedCookieSession,
} from './sessions/session.service.js';
export { normalizeEmail } from './users/email.js';
export { type PasswordAttempt, PasswordAuthenticator } from './users/password-authenticator.js';
export { PasswordHasher } from './users/password-hasher.js';
export {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordProblems,
} from './users/password-policy.js';
export {
  ADMIN_ROLE,
  type PasswordChange,
  type Registration,
  UserService,
} from './users/user.service.js';
