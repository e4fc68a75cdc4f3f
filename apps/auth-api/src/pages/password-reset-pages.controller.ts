import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  PasswordResetService,
  RateLimitedError,
  ResetTokenInvalidError,
  ServiceBusyError,
  ValidationFailedError,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import { isEmail } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { BrowserSignInReader } from './browser-sign-in.js';
import { sendErrorPage, sendPage } from './html.js';
import { ApiPageQuery, ApiPageResponses } from './page-docs.js';
import { checkYourMailPage } from './views/check-your-mail.page.js';
import { forgotPasswordPage } from './views/forgot-password.page.js';
import { passwordChangedPage } from './views/password-changed.page.js';
import { resetLinkDoesNotWorkPage } from './views/reset-link-does-not-work.page.js';
import { resetPasswordPage } from './views/reset-password.page.js';

type Form = Record<string, string | undefined>;

/**
 * The forgot-password and reset-password pages (server-rendered, no script, the sign-in page's
 * CSP). Every address gets the same "check your mail" page; the reset page's URL holds the token, so
 * it is served with `strict-origin` (no token in any Referer) and its forms must come from our origin.
 */
@ApiTags('account')
@Public()
@Controller()
export class PasswordResetPagesController {
  private readonly linkMinutes: number;

  constructor(
    private readonly resets: PasswordResetService,
    private readonly browser: BrowserSignInReader,
    @InjectConfig() config: GatehouseConfig,
  ) {
    this.linkMinutes = Math.round(config.passwordReset.ttlSeconds / 60);
  }

  @Get('forgot-password')
  @ApiOperation({
    summary: 'The forgot-password page: a browser navigation.',
    description:
      'An email form; every address then gets the same "check your mail" page, and an account with the address gets a reset link by mail (as `POST /auth/password/forgot`, with its limits).',
  })
  @ApiPageResponses({ 200: 'The email form.' })
  forgotPage(@Res() reply: FastifyReply): FastifyReply {
    return this.sendForgot(reply, 200, null);
  }

  @Post('forgot-password')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async forgot(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the forgot-password page.');
    }
    const email = (form['email'] ?? '').trim();
    if (email.length > 254 || !isEmail(email)) {
      return this.sendForgot(reply, 400, 'Enter your email address, like ada@example.com.');
    }
    try {
      await this.resets.request(email, client.ip);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        void reply.headers(error.headers);
        return this.sendForgot(reply, 429, 'Too many requests. Try again later.');
      }
      throw error;
    }
    return sendPage(reply, 200, checkYourMailPage({ linkMinutes: this.linkMinutes }));
  }

  @Get('reset-password')
  @ApiOperation({
    summary: 'The reset-password page, where the reset mail links to: a browser navigation.',
    description:
      'A new-password form for a live link; posting it does what `POST /auth/password/reset` does. Served with `Referrer-Policy: strict-origin`, so the token never leaves in a Referer; the token is never logged.',
  })
  @ApiPageQuery([
    { name: 'token', required: true, description: 'The token of the link in the reset mail.' },
  ])
  @ApiPageResponses({
    200: 'The new-password form.',
    400: 'The link is invalid, used, superseded or expired: a link to ask for a new one.',
  })
  async resetPage(
    @Query('token') token: unknown,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const account = typeof token === 'string' ? await this.resets.accountOf(token) : null;
    if (!account || typeof token !== 'string') {
      return this.sendInvalidLink(reply);
    }
    return this.sendReset(reply, 200, token, account.email, null);
  }

  @Post('reset-password')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async reset(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the reset-password page.');
    }
    const token = form['token'] ?? '';
    try {
      await this.resets.reset({ token, newPassword: form['newPassword'] ?? '', ip: client.ip });
    } catch (error) {
      return this.sendResetProblem(reply, token, error);
    }
    return sendPage(reply, 200, passwordChangedPage());
  }

  private async sendResetProblem(
    reply: FastifyReply,
    token: string,
    error: unknown,
  ): Promise<FastifyReply> {
    if (error instanceof ResetTokenInvalidError) {
      return this.sendInvalidLink(reply);
    }
    const account = await this.resets.accountOf(token);
    if (error instanceof ValidationFailedError && account) {
      const message = error.details.flatMap((detail) => detail.messages).join(' ');
      return this.sendReset(reply, 400, token, account.email, message);
    }
    if (error instanceof ServiceBusyError && account) {
      void reply.headers(error.headers);
      const message = 'The service is busy. Try again in a moment.';
      return this.sendReset(reply, 503, token, account.email, message);
    }
    throw error;
  }

  private sendForgot(reply: FastifyReply, status: number, problem: string | null): FastifyReply {
    return sendPage(reply, status, forgotPasswordPage({ problem }));
  }

  private sendReset(
    reply: FastifyReply,
    status: number,
    token: string,
    email: string,
    problem: string | null,
  ): FastifyReply {
    return sendPage(reply, status, resetPasswordPage({ token, email, problem }));
  }

  private sendInvalidLink(reply: FastifyReply): FastifyReply {
    return sendPage(reply, 400, resetLinkDoesNotWorkPage());
  }
}
