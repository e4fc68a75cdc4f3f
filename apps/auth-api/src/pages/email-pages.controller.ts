import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  EmailAlreadyVerifiedError,
  EmailChangeService,
  EmailTakenError,
  EmailVerificationService,
  RateLimitedError,
  VerificationTokenInvalidError,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { BrowserSignInReader } from './browser-sign-in.js';
import { sendErrorPage, sendPage } from './html.js';
import { ApiPageQuery, ApiPageResponses } from './page-docs.js';
import { emailLinkDonePage } from './views/email-link-done.page.js';
import { emailLinkPage } from './views/email-link.page.js';
import { linkDoesNotWorkPage } from './views/link-does-not-work.page.js';

type Form = Record<string, string | undefined>;

/** What each mailed link asks the user to confirm, and what the page says once it is done. */
interface LinkPage {
  readonly path: string;
  readonly title: string;
  readonly question: string;
  readonly button: string;
  readonly done: string;
}

const VERIFY: LinkPage = {
  path: '/verify-email',
  title: 'Confirm your email address',
  question: 'Confirm that this address is yours.',
  button: 'Confirm my address',
  done: 'Your email address is confirmed. You can close this page.',
};
const CONFIRM_CHANGE: LinkPage = {
  path: '/confirm-email-change',
  title: 'Confirm your new email address',
  question: 'Confirm that this new address is yours: it becomes the address of your account.',
  button: 'Confirm my new address',
  done: 'Your account now uses this address. Sign in with it from now on.',
};
const CANCEL_CHANGE: LinkPage = {
  path: '/cancel-email-change',
  title: 'Cancel the email change',
  question: 'Cancel the change of your account’s address? The address stays as it is.',
  button: 'Cancel the change',
  done: 'The change is cancelled. If you did not ask for it, choose a new password now.',
};

const INVALID_LINK =
  'This link is invalid or has expired: it works once, for a limited time, and only the newest one works.';

/**
 * The pages the verification and email-change mails link to. Opening a link changes nothing (mail
 * scanners prefetch links): the page asks for a click, and only its form (from our own origin) acts.
 * Their URLs hold the token, so they are served with `strict-origin`: it reaches no Referer.
 */
@ApiTags('account')
@Public()
@Controller()
export class EmailPagesController {
  constructor(
    private readonly verifications: EmailVerificationService,
    private readonly changes: EmailChangeService,
    private readonly browser: BrowserSignInReader,
  ) {}

  @Get('verify-email')
  @ApiOperation({
    summary: 'The page the verification mail links to: a browser navigation.',
    description:
      'A button that does what `POST /auth/email/verify` does; opening the page changes nothing. Served with `Referrer-Policy: strict-origin`; the token is never logged.',
  })
  @ApiPageQuery([{ name: 'token', required: true, description: 'The token of the mailed link.' }])
  @ApiPageResponses({ 200: 'The confirmation button.' })
  verifyPage(@Query('token') token: unknown, @Res() reply: FastifyReply): FastifyReply {
    return this.sendQuestion(reply, VERIFY, token);
  }

  @Post('verify-email')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  verify(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.act(request, reply, VERIFY, () =>
      this.verifications.verify(form['token'], client.ip),
    );
  }

  @Get('confirm-email-change')
  @ApiOperation({
    summary: 'The page the confirmation mail of an email change links to: a browser navigation.',
    description:
      'A button that does what `POST /auth/email/change/confirm` does; opening the page changes nothing.',
  })
  @ApiPageQuery([{ name: 'token', required: true, description: 'The token of the mailed link.' }])
  @ApiPageResponses({ 200: 'The confirmation button.' })
  confirmChangePage(@Query('token') token: unknown, @Res() reply: FastifyReply): FastifyReply {
    return this.sendQuestion(reply, CONFIRM_CHANGE, token);
  }

  @Post('confirm-email-change')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  confirmChange(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.act(request, reply, CONFIRM_CHANGE, () =>
      this.changes.confirm(form['token'], client.ip),
    );
  }

  @Get('cancel-email-change')
  @ApiOperation({
    summary: 'The page the notice to the old address links to: a browser navigation.',
    description:
      'A button that does what `POST /auth/email/change/cancel` does; opening the page changes nothing.',
  })
  @ApiPageQuery([{ name: 'token', required: true, description: 'The token of the mailed link.' }])
  @ApiPageResponses({ 200: 'The cancel button.' })
  cancelChangePage(@Query('token') token: unknown, @Res() reply: FastifyReply): FastifyReply {
    return this.sendQuestion(reply, CANCEL_CHANGE, token);
  }

  @Post('cancel-email-change')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  cancelChange(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.act(request, reply, CANCEL_CHANGE, () =>
      this.changes.cancel(form['token'], client.ip),
    );
  }

  /** The sign-in page's "send the link again" (`REQUIRE_VERIFIED_EMAIL`), with its sealed ticket. */
  @Post('verify-email/resend')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async resend(
    @Body() form: Form,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the sign-in page.');
    }
    try {
      await this.verifications.resendWithTicket(form['ticket']);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        void reply.headers(error.headers);
        return sendErrorPage(reply, 429, 'We sent several links already. Try again later.');
      }
      if (error instanceof EmailAlreadyVerifiedError) {
        return this.sendDone(reply, 'Already confirmed', 'Your address is confirmed: sign in.');
      }
      if (error instanceof VerificationTokenInvalidError) {
        return sendErrorPage(reply, 400, 'This page has expired: sign in again.');
      }
      throw error;
    }
    return this.sendDone(
      reply,
      'Check your mail',
      'We have sent you a new link. Open it to confirm your address, then sign in.',
    );
  }

  private sendQuestion(reply: FastifyReply, page: LinkPage, token: unknown): FastifyReply {
    if (typeof token !== 'string' || token.length === 0 || token.length > 128) {
      return sendPage(reply, 400, linkDoesNotWorkPage({ message: INVALID_LINK }));
    }
    const { title, question, path, button } = page;
    return sendPage(reply, 200, emailLinkPage({ title, question, action: path, button, token }));
  }

  private async act(
    request: FastifyRequest,
    reply: FastifyReply,
    page: LinkPage,
    action: () => Promise<void>,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from our page.');
    }
    try {
      await action();
    } catch (error) {
      if (error instanceof VerificationTokenInvalidError) {
        return sendPage(reply, 400, linkDoesNotWorkPage({ message: INVALID_LINK }));
      }
      if (error instanceof EmailTakenError) {
        const message = 'Another account uses this address now.';
        return sendPage(reply, 409, linkDoesNotWorkPage({ message }));
      }
      throw error;
    }
    return this.sendDone(reply, page.title, page.done);
  }

  private sendDone(reply: FastifyReply, title: string, message: string): FastifyReply {
    return sendPage(reply, 200, emailLinkDonePage({ title, message }));
  }
}
