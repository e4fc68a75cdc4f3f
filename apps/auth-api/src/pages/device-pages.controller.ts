import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type ClientContext,
  DeviceAuthorizationService,
  type DeviceRequestForUser,
  formatUserCode,
  normalizeUserCode,
  RateLimitedError,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { BrowserSignInReader, type PageUser } from './browser-sign-in.js';
import { escapeHtml, sendErrorPage, sendPage } from './html.js';
import { ApiPageQuery, ApiPageResponses } from './page-docs.js';

type Form = Record<string, unknown>;

const UNKNOWN_CODE = 'That code is not valid, or it has expired. Check the code on your device.';

/**
 * The device page (RFC 8628 §3.3): a signed-in user types the code their device shows (or follows
 * verification_uri_complete), checks it against the device, and approves or denies. Guesses are
 * limited per user and per IP; forms must come from our own pages.
 */
@ApiTags('oauth')
@Public()
@Controller('device')
export class DevicePagesController {
  constructor(
    private readonly devices: DeviceAuthorizationService,
    private readonly browser: BrowserSignInReader,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The device page (RFC 8628 §3.3, verification_uri): a browser navigation.',
    description:
      'A signed-in user types the code their device shows, or arrives with it from verification_uri_complete, checks it against the device (RFC 8628 §5.4) and allows or denies. Signed out, the browser is sent to the sign-in page first and brought back with the code. Wrong codes are limited to 10 per user and 30 per IP per 15 minutes.',
  })
  @ApiPageQuery([
    {
      name: 'user_code',
      description:
        'The code the device shows (verification_uri_complete fills it in): any case, with or without spaces and dash.',
    },
  ])
  @ApiPageResponses(
    {
      200: 'The code entry form, or, with a pending user_code, the "Sign in … ?" confirmation.',
      400: 'The code entry form again: the code is unknown or has expired.',
      429: 'The code entry form: too many wrong codes (Retry-After).',
    },
    'Not signed in: to the sign-in page, which comes back here with the code.',
  )
  async show(
    @Query('user_code') typed: unknown,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const user = await this.browser.current(request);
    if (!user) {
      return this.toSignIn(reply, typed);
    }
    if (typeof typed !== 'string') {
      return this.sendEntry(reply, null, 200);
    }
    return this.confirmOrRetry(reply, typed, user, client);
  }

  @Post()
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async enter(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.signedInForm(request, reply, form, (user) =>
      this.confirmOrRetry(reply, form['user_code'], user, client),
    );
  }

  @Post('decision')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async decide(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.signedInForm(request, reply, form, async (user) => {
      const found = await this.find(reply, form['user_code'], user, client);
      if (found === 'answered') {
        return reply;
      }
      const approve = form['decision'] === 'approve';
      if (!found || !(await this.devices.decide(found, user, approve, client))) {
        return this.sendEntry(reply, UNKNOWN_CODE, 400);
      }
      return sendPage(reply, 200, {
        title: approve ? 'Device connected' : 'Request denied',
        main: approve
          ? `<p role="status"><strong>${escapeHtml(found.client.name)}</strong> is now signed in on your device. You can close this page and go back to it.</p>`
          : '<p role="status">The device was not signed in. You can close this page.</p>',
      });
    });
  }

  /** A form of the device page: from our origin (else 403), by a signed-in user (else sign in). */
  private async signedInForm(
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form,
    work: (user: PageUser) => Promise<FastifyReply>,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the device page.');
    }
    const user = await this.browser.current(request);
    return user ? work(user) : this.toSignIn(reply, form['user_code']);
  }

  private async confirmOrRetry(
    reply: FastifyReply,
    typed: unknown,
    user: PageUser,
    client: ClientContext,
  ): Promise<FastifyReply> {
    const found = await this.find(reply, typed, user, client);
    if (found === 'answered') {
      return reply;
    }
    return found ? this.sendConfirmation(reply, found) : this.sendEntry(reply, UNKNOWN_CODE, 400);
  }

  /** The pending request, null for a wrong code, or 'answered' when the guesses are spent (429). */
  private async find(
    reply: FastifyReply,
    typed: unknown,
    user: PageUser,
    client: ClientContext,
  ): Promise<DeviceRequestForUser | null | 'answered'> {
    try {
      return await this.devices.find(typed, user, client.ip);
    } catch (error) {
      if (error instanceof RateLimitedError) {
        void reply.header('retry-after', String(error.retryAfterSeconds));
        this.sendEntry(reply, 'Too many wrong codes. Try again later.', 429);
        return 'answered';
      }
      throw error;
    }
  }

  /** Sign in first, then back here with the code, if it looks like one. */
  private toSignIn(reply: FastifyReply, typed: unknown): FastifyReply {
    const userCode = normalizeUserCode(typed);
    return reply.redirect(`/signin?device=${userCode ? formatUserCode(userCode) : ''}`, 303);
  }

  private sendEntry(reply: FastifyReply, problem: string | null, status: number): FastifyReply {
    return sendPage(reply, status, {
      title: 'Connect a device',
      main: `${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/device">
<label for="user_code">Enter the code shown on your device</label>
<input id="user_code" name="user_code" type="text" inputmode="text" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" placeholder="XXXX-XXXX" required autofocus>
<button type="submit">Continue</button>
</form>`,
    });
  }

  /** RFC 8628 §5.4: the user must check the code against their device (remote phishing). */
  private sendConfirmation(reply: FastifyReply, found: DeviceRequestForUser): FastifyReply {
    const scopes =
      found.scopes.length > 0
        ? `<p>It asks for:</p><ul class="scopes">${found.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('')}</ul>`
        : '';
    return sendPage(reply, 200, {
      title: `Sign in ${found.client.name}?`,
      main: `<p><strong>${escapeHtml(found.client.name)}</strong> wants to sign in to your account on a device.</p>
<p>Check that your device shows this code: <strong class="code">${escapeHtml(found.userCode)}</strong></p>
${scopes}
<p>Only allow it if you started this on a device of your own just now.</p>
<form method="post" action="/device/decision">
<input type="hidden" name="user_code" value="${escapeHtml(found.userCode)}">
<div class="actions">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
    });
  }
}
