import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { RestErrorFilter } from '@gatehouse/http';
import type { FastifyRequest } from 'fastify';

import { OAuthErrorFilter } from './oauth/oauth-error.filter.js';

/**
 * auth-api's one global filter, choosing the error surface by path: the OAuth endpoints speak RFC
 * 6749, the rest `{statusCode, error, message}` — userinfo included: it is a protected resource,
 * refused like any other with a Bearer challenge (RFC 6750), not an OAuth endpoint. Global, so errors
 * raised before routing (a body that is not JSON, an unsupported media type) get the right shape too.
 */
@Catch()
export class AuthApiErrorFilter implements ExceptionFilter {
  private readonly rest = new RestErrorFilter();
  private readonly oauth = new OAuthErrorFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const { url } = host.switchToHttp().getRequest<FastifyRequest>();
    const oauth = url.startsWith('/oauth/') && !url.startsWith('/oauth/userinfo');
    (oauth ? this.oauth : this.rest).catch(exception, host);
  }
}
