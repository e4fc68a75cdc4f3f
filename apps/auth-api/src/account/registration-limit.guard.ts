import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { LoginLimiter } from '@gatehouse/identity';
import type { FastifyRequest } from 'fastify';

/**
 * Spends a point of the client address's registration budget on every `POST /auth/register`
 * before the body is validated: whatever its outcome, each attempt counts, and an attempt past the
 * budget is refused (429 `RATE_LIMITED`) for the price of a counter, not of a validation.
 */
@Injectable()
export class RegistrationLimitGuard implements CanActivate {
  constructor(private readonly limiter: LoginLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.limiter.takeRegistration(context.switchToHttp().getRequest<FastifyRequest>().ip);
    return true;
  }
}
