import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ClientContext } from '@gatehouse/identity';
import type { FastifyRequest } from 'fastify';

/**
 * Where the request comes from, for sessions and the audit log. `ip` honours `X-Forwarded-For` only
 * from the proxies `TRUST_PROXY` names.
 */
export const RequestClient = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientContext => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
  },
);
