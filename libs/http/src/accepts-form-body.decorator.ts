import { applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiConsumes } from '@nestjs/swagger';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set by `@AcceptsFormBody()`: the route parses application/x-www-form-urlencoded too. */
    acceptsFormBody?: boolean;
  }
}

/**
 * The route takes form-encoded bodies as well as JSON: the OAuth endpoints (RFC 6749 §3.2, RFC 7009,
 * RFC 7662, RFC 8628) and the forms of the server-rendered pages. Every other route answers a form
 * with 415: a cross-site HTML form can post a form without a CORS preflight, but not JSON. Swagger
 * learns the media types from the same decorator.
 */
export function AcceptsFormBody(): MethodDecorator {
  return applyDecorators(
    RouteConfig({ acceptsFormBody: true }),
    ApiConsumes('application/x-www-form-urlencoded', 'application/json'),
  );
}
