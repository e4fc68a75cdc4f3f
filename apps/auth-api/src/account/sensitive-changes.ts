/**
 * Changing the password, the email address or the second factors needs a sign-in this recent
 * (`@RequireFreshAuth`): a session left open, or a stolen token, cannot take the account over.
 */
export const SENSITIVE_CHANGE_MAX_AGE_SECONDS = 600;

/** What the routes that need it say in their OpenAPI description. */
export const SIGN_IN_AGAIN =
  'Needs a sign-in within the last 10 minutes: else 401 `INSUFFICIENT_USER_AUTHENTICATION` with `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age="600"` (sign in again, e.g. `/oauth/authorize?max_age=0` or `POST /auth/login`, and retry).';
