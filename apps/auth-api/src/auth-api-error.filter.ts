import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { RestErrorFilter } from '@gatehouse/http';
import type { FastifyRequest } from 'fastify';

import { OAuthErrorFilter } from './oauth/oauth-error.filter.js';

/**
 * auth-api's one global filter, choosing the error surface by path: /oauth/* speaks RFC 6749, the
 * rest `{statusCode, error, message}`. Global, so errors raised before routing (a body that is not
 * JSON, an unsupported media type) get the right shape too.
 */
@Catch()
export class AuthApiErrorFilter implements ExceptionFilter {
  private readonly rest = new RestErrorFilter();
  private readonly oauth = new OAuthErrorFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const { url } = host.switchToHttp().getRequest<FastifyRequest>();
    (url.startsWith('/oauth/') ? this.oauth : this.rest).catch(exception, host);
  }
}
