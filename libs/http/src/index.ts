export { AcceptsFormBody } from './accepts-form-body.decorator.js';
export { ApiAuthenticated, ApiCsrfChecked } from './api-authenticated.decorator.js';
export { RequestClient } from './client-context.decorator.js';
export { type DatabaseUse, resolveDatabase, type ResolvedDatabase } from './database-url.js';
export { describeError } from './describe-error.js';
export { type ErrorBody, renderError } from './error-body.js';
export { ErrorResponseDto } from './error-response.dto.js';
export { createHttpApp, type HttpAppOptions } from './http-app.factory.js';
export { resolveKeyEncryptionKey } from './key-encryption-key.js';
export { localAuthentication, type LocalResource } from './local-authentication.js';
export { validatedCookieSession } from './local-session-introspector.js';
export { HttpPlatformModule, type HttpPlatformOptions } from './http-platform.module.js';
export { type AppEntry, loadConfigOrExit, serve } from './serve.js';
export {
  type ApiDescription,
  BEARER_SCHEME,
  buildOpenApiDocument,
  COOKIE_SCHEME,
} from './swagger.js';
export { RestErrorFilter } from './rest-error.filter.js';
export { uuidParam } from './uuid-param.pipe.js';
export { createValidationPipe } from './validation.pipe.js';
