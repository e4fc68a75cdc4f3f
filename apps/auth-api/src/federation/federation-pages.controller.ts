import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  AuthorizationService,
  type ClientContext,
  FEDERATION_STATE_TTL_SECONDS,
  type FederationNext,
  type FederationOutcome,
  FederationService,
  formatUserCode,
  InteractionSealer,
  MfaService,
  normalizeUserCode,
  SessionService,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { setSessionCookie } from '../browser-sessions/session-cookie.js';
import { BrowserSignInReader } from '../pages/browser-sign-in.js';
import { originOf, sendErrorPage, sendPage } from '../pages/html.js';
import { ApiPageQuery, ApiPageResponses } from '../pages/page-docs.js';
import { confirmYourEmailPage } from '../pages/views/confirm-your-email.page.js';
import { federationRefusedPage } from '../pages/views/federation-refused.page.js';
import { identityLinkedPage } from '../pages/views/identity-linked.page.js';
import { signInSecondStepPage } from '../pages/views/sign-in-second-step.page.js';
import { signedInPage } from '../pages/views/signed-in.page.js';

/** OWASP: not readable by scripts, HTTPS only, sent on the upstream's top-level redirect back (Lax). */
const STATE_COOKIE_ATTRIBUTES = {
  httpOnly: true,
  secure: true,
  sameSite: 'lax',
  path: '/federation/',
} as const;

/**
 * A SAML IdP answers with a cross-site POST to the ACS, on which a Lax cookie is not sent: the state
 * cookie of a SAML sign-in is SameSite=None (Secure, HttpOnly, only under /federation/), so the
 * response is still bound to the browser that started (a response captured by someone else cannot be
 * posted into another browser's session: login CSRF).
 */
const SAML_STATE_COOKIE_ATTRIBUTES = { ...STATE_COOKIE_ATTRIBUTES, sameSite: 'none' } as const;

const single = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/**
 * Sign-in through an upstream OpenID Provider (issue 20): `start` redirects the browser there (PKCE
 * S256, state, nonce; the state also in a cookie of this browser), `callback` validates the answer,
 * resolves the local user and starts an ordinary cookie session (amr `fed`), then goes on like a
 * password sign-in: the pending authorization request, the device page, a return path on our origin.
 */
@ApiTags('federation')
@Public()
@Controller('federation')
export class FederationPagesController {
  private readonly stateCookie: string;

  constructor(
    @InjectConfig() config: GatehouseConfig,
    private readonly federation: FederationService,
    private readonly authorization: AuthorizationService,
    private readonly interactions: InteractionSealer,
    private readonly sessions: SessionService,
    private readonly browser: BrowserSignInReader,
    private readonly mfa: MfaService,
  ) {
    this.stateCookie = config.issuer.startsWith('https:')
      ? '__Secure-gh_federation'
      : 'gh_federation';
  }

  @Get(':slug/start')
  @ApiOperation({
    summary:
      'Sign in (or link an account) with an upstream identity provider: a browser navigation.',
    description:
      'Redirects to the provider\'s authorization endpoint (authorization code, PKCE S256, state, nonce). The sign-in page\'s "Continue with …" links carry the pending authorization request or device page; `return_to` is honoured on our own origin only. `link=1` links the provider to the signed-in user (cookie session) instead of signing in.',
  })
  @ApiParam({ name: 'slug', description: 'The provider, as registered by operators.' })
  @ApiPageQuery([
    { name: 'interaction', description: 'The sealed authorization request the sign-in is for.' },
    { name: 'device', description: "The device page's code typed so far." },
    { name: 'return_to', description: 'A path on our own origin to end on.' },
    { name: 'link', description: '`1`: link to the signed-in user rather than sign in.' },
  ])
  @ApiPageResponses(
    {
      401: 'Error page: `link=1` without a signed-in browser.',
      404: 'Error page: no enabled provider with this slug.',
      502: 'Error page: the provider could not be discovered (audited).',
    },
    "To the provider's authorization endpoint.",
  )
  async start(
    @Param('slug') slug: string,
    @Query() query: Record<string, unknown>,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    let linkSession: { sessionId: string; userId: string } | undefined;
    if (single(query['link']) === '1') {
      const user = await this.browser.current(request);
      if (!user) {
        return sendErrorPage(reply, 401, 'Sign in first, then link the provider to your account.');
      }
      linkSession = { sessionId: user.sessionId, userId: user.userId };
    }
    const sealed = single(query['interaction']);
    const device = single(query['device']);
    const started = await this.federation.start(
      slug,
      {
        interaction: this.interactions.resume(sealed) ? sealed : undefined,
        device: device !== undefined ? (normalizeUserCode(device) ?? '') : undefined,
        returnTo: single(query['return_to']),
        linkSession,
      },
      client.ip,
    );
    switch (started.status) {
      case 'unknown':
        return sendErrorPage(reply, 404, 'There is no such identity provider.');
      case 'unavailable':
        return sendPage(reply, 502, federationRefusedPage({ unavailable: true }));
      case 'redirect':
        void reply.setCookie(this.stateCookie, started.state, {
          ...(started.protocol === 'saml' ? SAML_STATE_COOKIE_ATTRIBUTES : STATE_COOKIE_ATTRIBUTES),
          maxAge: FEDERATION_STATE_TTL_SECONDS,
        });
        return reply.redirect(started.location, 303);
    }
  }

  @Get(':slug/callback')
  @ApiOperation({
    summary:
      'Where the upstream provider sends the browser back: register `{ISSUER}/federation/{slug}/callback` there.',
    description:
      "Validates state (this browser's), the code exchange with PKCE, and the ID token (JWKS signature, issuer, audience, expiry, nonce); then links or creates the user per the provider's policy and starts a cookie session with amr `fed`. Every failure is audited as `federation.refused` with its reason and ends on our error page, or at the client's redirect_uri with `access_denied` (`server_error` when the provider is unavailable) when an authorization request is pending.",
  })
  @ApiParam({ name: 'slug', description: 'The provider.' })
  @ApiPageResponses(
    {
      200: 'Signed in (or linked) with nothing to go back to.',
      403: 'Error page: the sign-in was refused.',
      502: 'Error page: the provider could not be reached.',
    },
    "On to the pending authorization request, the device page or return_to; or the client's redirect_uri with an error.",
  )
  async callback(
    @Param('slug') slug: string,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const queryStart = request.url.indexOf('?');
    const query = queryStart >= 0 ? request.url.slice(queryStart + 1) : '';
    const current = await this.browser.current(request);
    const outcome = await this.federation.callback(
      slug,
      query,
      request.cookies[this.stateCookie],
      current && { sessionId: current.sessionId, userId: current.userId },
      client.ip,
    );
    void reply.clearCookie(this.stateCookie, STATE_COOKIE_ATTRIBUTES);
    return this.finish(outcome, client, request, reply);
  }

  @Get(':slug/saml/metadata')
  @ApiOperation({
    summary:
      "A SAML provider's service-provider metadata: give this URL (or its content) to the IdP.",
    description:
      'Our entity ID (default: this URL), the assertion consumer service `{ISSUER}/federation/{slug}/saml/acs` (HTTP-POST binding), and that assertions must be signed.',
  })
  @ApiParam({ name: 'slug', description: 'The SAML provider.' })
  @ApiProduces('application/samlmetadata+xml')
  @ApiOkResponse({ description: 'The EntityDescriptor (SPSSODescriptor).' })
  @ApiNotFoundResponse({ description: 'Error page: no enabled SAML provider with this slug.' })
  async samlMetadata(
    @Param('slug') slug: string,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const metadata = await this.federation.samlMetadata(slug);
    if (metadata === null) {
      return sendErrorPage(reply, 404, 'There is no such identity provider.');
    }
    return reply
      .status(200)
      .type('application/samlmetadata+xml; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(metadata);
  }

  @Post(':slug/saml/acs')
  @AcceptsFormBody()
  @ApiOperation({
    summary:
      'The SAML assertion consumer service (HTTP-POST binding): give `{ISSUER}/federation/{slug}/saml/acs` to the IdP.',
    description:
      "The IdP's cross-site form post (`SAMLResponse`, `RelayState`): authenticated by the assertion's signature, not by an Origin check. RelayState must be the state this browser was given (SameSite=None cookie) and is spent; the assertion must be signed by a configured certificate, name our entity ID as audience and the ACS as recipient (and destination), be within NotBefore/NotOnOrAfter (± 60 s), answer the AuthnRequest stored with the state (InResponseTo), and its ID is accepted once. Then exactly like the OIDC callback: link or create the user, a cookie session with amr `fed`, on to the pending request. Failures are audited (`federation.refused`) and end on our error page or at the client's redirect_uri with `access_denied`.",
  })
  @ApiParam({ name: 'slug', description: 'The SAML provider.' })
  @ApiPageResponses(
    {
      200: 'Signed in (or linked) with nothing to go back to.',
      403: 'Error page: the sign-in was refused.',
    },
    "On to the pending authorization request, the device page or return_to; or the client's redirect_uri with an error.",
  )
  async samlAcs(
    @Param('slug') slug: string,
    @Body() form: Record<string, unknown> | undefined,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    // A Lax session cookie is not sent on the IdP's cross-site post: `current` is usually null.
    const current = await this.browser.current(request);
    const outcome = await this.federation.samlAcs(
      slug,
      {
        samlResponse: single(form?.['SAMLResponse']) ?? '',
        relayState: single(form?.['RelayState']) ?? '',
      },
      request.cookies[this.stateCookie],
      current && { sessionId: current.sessionId, userId: current.userId },
      client.ip,
    );
    void reply.clearCookie(this.stateCookie, SAML_STATE_COOKIE_ATTRIBUTES);
    return this.finish(outcome, client, request, reply);
  }

  /** After the upstream (OIDC callback or SAML ACS): the session and on, or the refusal. */
  private async finish(
    outcome: FederationOutcome,
    client: ClientContext,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    switch (outcome.status) {
      case 'signed-in': {
        // A user with a second factor gives it here too, as after a password (amr `fed`, …).
        const challenge = await this.mfa.afterPassword(
          outcome.signIn.user,
          outcome.signIn.identityProviderId ?? null,
        );
        if (challenge) {
          return this.sendSecondStep(reply, outcome.next, challenge);
        }
        const started = await this.sessions.startCookieSession(
          outcome.signIn,
          client,
          request.cookies[this.browser.cookieName],
        );
        setSessionCookie(reply, this.browser.cookieName, started.token, started.maxAgeSeconds);
        return this.continueSignedIn(reply, outcome.next);
      }
      case 'linked':
        return outcome.next.returnTo
          ? reply.redirect(outcome.next.returnTo, 303)
          : sendPage(reply, 200, identityLinkedPage());
      case 'unverified':
        // REQUIRE_VERIFIED_EMAIL: as after a right password, the link is offered; no session yet.
        return sendPage(
          reply,
          403,
          confirmYourEmailPage({
            message: 'Confirm your email address first: we can mail you a link to it.',
            ticket: this.interactions.startVerificationResend(outcome.userId),
          }),
        );
      case 'refused':
        return this.refused(reply, outcome);
    }
  }

  /** Like a password sign-in: the device page, the authorization request, return_to, or a page. */
  private continueSignedIn(reply: FastifyReply, next: FederationNext): FastifyReply {
    if (next.device !== null) {
      const userCode = normalizeUserCode(next.device);
      return reply.redirect(
        userCode ? `/device?user_code=${formatUserCode(userCode)}` : '/device',
        303,
      );
    }
    if (next.interaction && this.interactions.resume(next.interaction)) {
      return reply.redirect(
        `/oauth/authorize/resume?interaction=${encodeURIComponent(next.interaction)}`,
        303,
      );
    }
    if (next.returnTo) {
      return reply.redirect(next.returnTo, 303);
    }
    return sendPage(reply, 200, signedInPage());
  }

  /**
   * The sign-in page's second step, posted to `/signin/mfa`, which goes on to the authorization
   * request or the device page (a `return_to` is not carried through it).
   */
  private sendSecondStep(
    reply: FastifyReply,
    next: FederationNext,
    challenge: { readonly mfaToken: string; readonly methods: readonly string[] },
  ): FastifyReply {
    const interaction = this.interactions.resume(next.interaction ?? undefined);
    const redirectOrigin = originOf(interaction?.params.redirect_uri);
    return sendPage(
      reply,
      200,
      signInSecondStepPage({
        problem: null,
        mfaToken: challenge.mfaToken,
        interaction: interaction ? next.interaction! : undefined,
        deviceCode: next.device ?? undefined,
        passkey: challenge.methods.includes('passkey'),
      }),
      redirectOrigin ? [redirectOrigin] : [],
    );
  }

  /** Back to the client with an error when a request is pending, else our error page. */
  private async refused(
    reply: FastifyReply,
    outcome: Extract<FederationOutcome, { status: 'refused' }>,
  ): Promise<FastifyReply> {
    const unavailable = outcome.reason === 'upstream_unavailable';
    const interaction = this.interactions.resume(outcome.next?.interaction ?? undefined);
    if (interaction) {
      const request = await this.authorization.validate(interaction.params).catch(() => null);
      if (request) {
        const location = this.authorization.redirectLocation(request, {
          error: unavailable ? 'server_error' : 'access_denied',
          error_description: unavailable
            ? 'The identity provider is not available.'
            : 'The sign-in with the identity provider did not succeed.',
        });
        return reply.redirect(location, 303);
      }
    }
    return sendPage(reply, unavailable ? 502 : 403, federationRefusedPage({ unavailable }));
  }
}
