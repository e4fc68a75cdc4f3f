import { CreateSchema1763900000000 } from './1763900000000-create-schema.js';
import { TokenStrategy1764000000000 } from './1764000000000-token-strategy.js';
import { AuthorizationCode1764100000000 } from './1764100000000-authorization-code.js';
import { DeviceAndLogout1764200000000 } from './1764200000000-device-and-logout.js';
import { RefreshTokenUsedIp1764300000000 } from './1764300000000-refresh-token-used-ip.js';
import { AuthorizationBoundaries1764400000000 } from './1764400000000-authorization-boundaries.js';
import { AdminListings1764500000000 } from './1764500000000-admin-listings.js';
import { FirstPartyOpenid1764600000000 } from './1764600000000-first-party-openid.js';
import { MailMessages1764700000000 } from './1764700000000-mail-messages.js';
import { PasswordResets1764800000000 } from './1764800000000-password-resets.js';
import { EmailVerification1764900000000 } from './1764900000000-email-verification.js';
import { Mfa1765000000000 } from './1765000000000-mfa.js';
import { SignInMethods1765100000000 } from './1765100000000-sign-in-methods.js';
import { Passkeys1765200000000 } from './1765200000000-passkeys.js';
import { Federation1765500000000 } from './1765500000000-federation.js';
import { Saml1765600000000 } from './1765600000000-saml.js';
import { Webhooks1765700000000 } from './1765700000000-webhooks.js';
import { BackchannelLogout1765800000000 } from './1765800000000-backchannel-logout.js';
import { FederatedSessions1765900000000 } from './1765900000000-federated-sessions.js';
import { SessionParents1766000000000 } from './1766000000000-session-parents.js';
import { DeliveryHousekeeping1766100000000 } from './1766100000000-delivery-housekeeping.js';
import { RefreshTokenSealedCopy1766200000000 } from './1766200000000-refresh-token-sealed-copy.js';

/** Every migration, in order. Imported as classes: globs do not survive bundling. */
export const migrations = [
  CreateSchema1763900000000,
  TokenStrategy1764000000000,
  AuthorizationCode1764100000000,
  DeviceAndLogout1764200000000,
  RefreshTokenUsedIp1764300000000,
  AuthorizationBoundaries1764400000000,
  AdminListings1764500000000,
  FirstPartyOpenid1764600000000,
  MailMessages1764700000000,
  PasswordResets1764800000000,
  EmailVerification1764900000000,
  Mfa1765000000000,
  SignInMethods1765100000000,
  Passkeys1765200000000,
  Federation1765500000000,
  Saml1765600000000,
  Webhooks1765700000000,
  BackchannelLogout1765800000000,
  FederatedSessions1765900000000,
  SessionParents1766000000000,
  DeliveryHousekeeping1766100000000,
  RefreshTokenSealedCopy1766200000000,
];
