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
import { sendErrorPage, sendPage } from './html.js';
import { ApiPageQuery, ApiPageResponses } from './page-docs.js';
import { deviceCodePage } from './views/device-code.page.js';
import { deviceConfirmationPage } from './views/device-confirmation.page.js';
import { deviceConnectedPage } from './views/device-connected.page.js';
import { deviceRequestDeniedPage } from './views/device-request-denied.page.js';

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
      const page = approve
        ? deviceConnectedPage({ clientName: found.client.name })
        : deviceRequestDeniedPage();
      return sendPage(reply, 200, page);
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
    return sendPage(reply, status, deviceCodePage({ problem }));
  }

  private sendConfirmation(reply: FastifyReply, found: DeviceRequestForUser): FastifyReply {
    const { userCode, scopes } = found;
    return sendPage(
      reply,
      200,
      deviceConfirmationPage({ clientName: found.client.name, userCode, scopes }),
    );
  }
}
