import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  AuthorizationPageError,
  type ClientContext,
  type EndSessionParams,
  type EndSessionRequest,
  EndSessionService,
  InteractionSealer,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { clearSessionCookie } from '../browser-sessions/session-cookie.js';
import { BrowserSignInReader } from './browser-sign-in.js';
import { originOf, sendErrorPage, sendPage } from './html.js';
import { ApiPageForm, ApiPageQuery, ApiPageResponses, type PageParameter } from './page-docs.js';
import { notSignedInPage } from './views/not-signed-in.page.js';
import { signOutPage } from './views/sign-out.page.js';
import { signedOutPage } from './views/signed-out.page.js';

const END_SESSION_PARAMS: readonly (keyof EndSessionParams)[] = [
  'id_token_hint',
  'post_logout_redirect_uri',
  'state',
  'client_id',
];

/** Only the parameters we know, each a single string (a repeated parameter is refused). */
function endSessionParams(input: Record<string, unknown> | undefined): EndSessionParams {
  const params: Record<string, string> = {};
  for (const name of END_SESSION_PARAMS) {
    const value = input?.[name];
    if (Array.isArray(value)) {
      throw new AuthorizationPageError('invalid_request', `${name} is repeated.`);
    }
    if (typeof value === 'string') {
      params[name] = value;
    }
  }
  return params;
}

/** OpenID Connect RP-Initiated Logout 1.0 §2: the same parameters by GET or POST. */
const END_SESSION_DOCS: readonly PageParameter[] = [
  {
    name: 'id_token_hint',
    description:
      'An ID token of ours (expired or not, while its signing key is published): names the session to end.',
  },
  {
    name: 'post_logout_redirect_uri',
    description: 'Where to send the browser afterwards: registered for the client, exact match.',
  },
  { name: 'state', description: 'Passed back on the redirect.' },
  {
    name: 'client_id',
    description:
      'The client: without id_token_hint, the one post_logout_redirect_uri is checked against; with it, it must match.',
  },
];

const END_SESSION_PAGES = {
  200: 'The "Sign out?" confirmation page (or "You are not signed in." when there is nothing to end).',
  400: 'Error page: invalid parameters are shown, never redirected.',
};

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end-session endpoint, by GET or
 * POST, and its confirmation page. Nothing ends until the user confirms on our page, with a form that
 * must come from our origin: a link on another site cannot sign anyone out.
 */
@ApiTags('oauth')
@Public()
@Controller('oauth/end_session')
export class EndSessionPagesController {
  constructor(
    private readonly endSessions: EndSessionService,
    private readonly interactions: InteractionSealer,
    private readonly browser: BrowserSignInReader,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'End-session endpoint (OpenID Connect RP-Initiated Logout): a browser navigation.',
    description:
      'Shows a confirmation page; confirming ends the browser sign-in and the session the ID token was issued in, then redirects to post_logout_redirect_uri with state. Invalid parameters are shown on an error page, never redirected. With neither a sign-in nor a hint there is nothing to end, and the browser goes straight back.',
  })
  @ApiPageQuery(END_SESSION_DOCS)
  @ApiPageResponses(
    END_SESSION_PAGES,
    'Nothing to end: straight back to post_logout_redirect_uri with state.',
  )
  start(
    @Query() query: Record<string, unknown>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.confirmationPage(query, request, reply);
  }

  @Post()
  @AcceptsFormBody()
  @ApiOperation({
    summary:
      'End-session endpoint by POST (OpenID Connect RP-Initiated Logout): a browser form post.',
    description:
      "The parameters of the GET form, as a form body. A form posted from the client's site arrives without the SameSite=Lax session cookie, so the user is always asked to confirm; confirming ends the browser sign-in and the session the ID token was issued in, then redirects to post_logout_redirect_uri with state.",
  })
  @ApiPageForm(END_SESSION_DOCS)
  @ApiPageResponses({ ...END_SESSION_PAGES, 200: 'The "Sign out?" confirmation page.' })
  startByPost(
    @Body() form: Record<string, unknown> | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    // A form posted from the client's site arrives without our SameSite=Lax cookie: whether the
    // browser is signed in cannot be told, so the user is always asked (the confirmation form is
    // posted from our own page, cookie included).
    return this.confirmationPage(form, request, reply, { alwaysConfirm: true });
  }

  @Post('confirm')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async confirm(
    @Body() form: Record<string, unknown> | undefined,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the sign-out page.');
    }
    const sealed = form?.['logout'];
    const logout = this.interactions.resumeLogout(typeof sealed === 'string' ? sealed : undefined);
    if (!logout) {
      return sendErrorPage(reply, 400, 'This sign-out request has expired. Sign out again.');
    }
    return this.withPageErrors(reply, async () => {
      const valid = await this.endSessions.validate(logout.params);
      const signedIn = await this.browser.current(request);
      const location = await this.endSessions.end(valid, signedIn, client);
      clearSessionCookie(reply, this.browser.cookieName);
      if (location !== null) {
        return reply.redirect(location, 303);
      }
      return sendPage(reply, 200, signedOutPage());
    });
  }

  private confirmationPage(
    input: Record<string, unknown> | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    { alwaysConfirm = false }: { alwaysConfirm?: boolean } = {},
  ): Promise<FastifyReply> {
    return this.withPageErrors(reply, async () => {
      const params = endSessionParams(input);
      const valid = await this.endSessions.validate(params);
      const signedIn = await this.browser.current(request);
      if (!signedIn && !valid.hint && !alwaysConfirm) {
        // Nothing to end, nothing to forge: straight back to the client (or our signed-out page).
        const location = this.endSessions.locationAfter(valid);
        return location !== null
          ? reply.redirect(location, 303)
          : sendPage(reply, 200, notSignedInPage());
      }
      // A cross-site POST carries no cookie (SameSite=Lax): the browser may well be signed in.
      const browserToo = signedIn !== null || alwaysConfirm;
      return this.sendConfirmation(reply, valid, browserToo, this.interactions.startLogout(params));
    });
  }

  private sendConfirmation(
    reply: FastifyReply,
    request: EndSessionRequest,
    browserToo: boolean,
    sealed: string,
  ): FastifyReply {
    const page = signOutPage({
      clientName: request.client?.name ?? null,
      endsBrowserSignIn: browserToo,
      endsApplicationSession: request.hint !== null,
      logout: sealed,
    });
    const redirectOrigin = originOf(request.redirectUri);
    return sendPage(reply, 200, page, redirectOrigin ? [redirectOrigin] : []);
  }

  private async withPageErrors(
    reply: FastifyReply,
    work: () => Promise<FastifyReply>,
  ): Promise<FastifyReply> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AuthorizationPageError) {
        return sendErrorPage(reply, 400, error.description);
      }
      throw error;
    }
  }
}
