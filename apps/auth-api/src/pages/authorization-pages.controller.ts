import { Body, Controller, Get, Header, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AcceptsFormBody, RequestClient } from '@gatehouse/http';
import {
  type AuthorizationParams,
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  AuthorizationService,
  type ClientContext,
  EmailNotVerifiedError,
  FederationService,
  InteractionSealer,
  InvalidCredentialsError,
  MAX_RESOURCES,
  MfaCodeInvalidError,
  MfaService,
  MfaTokenInvalidError,
  normalizeUserCode,
  PasskeyInvalidError,
  PasskeyService,
  formatUserCode,
  PasswordAuthenticator,
  RateLimitedError,
  ServiceBusyError,
  SessionService,
  type SignIn,
} from '@gatehouse/identity';
import { Public } from '@gatehouse/nest-auth';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { setSessionCookie } from '../browser-sessions/session-cookie.js';
import { BrowserSignInReader } from './browser-sign-in.js';
import { originOf, sendErrorPage, sendPage, STYLESHEET } from './html.js';
import { passkeyCredential } from './passkey-credential.js';
import { PASSKEY_SCRIPT } from './passkey-script.js';
import { ApiPageQuery, ApiPageResponses } from './page-docs.js';
import { confirmYourEmailPage } from './views/confirm-your-email.page.js';
import { consentPage } from './views/consent.page.js';
import { signInSecondStepPage } from './views/sign-in-second-step.page.js';
import { signInPage } from './views/sign-in.page.js';
import { signedInPage } from './views/signed-in.page.js';

type Form = Record<string, string | undefined>;

/** Where a sign-in goes on: an authorization request (sealed) or the device page. */
interface SignInNext {
  readonly sealed: string | undefined;
  readonly device: string | undefined;
}

/** Where a sign-in form's post goes on: the authorization request it carries, or the device page. */
function signInNextOf(sealed: string | undefined, device: unknown): SignInNext {
  return { sealed, device: typeof device === 'string' ? device : undefined };
}

const AUTHORIZATION_PARAMS: readonly (keyof AuthorizationParams)[] = [
  'client_id',
  'redirect_uri',
  'response_type',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'prompt',
  'max_age',
  'acr_values',
];

/**
 * Only the parameters we know, each a single string (a repeated parameter is refused), but
 * `resource`, which RFC 8707 §2 lets repeat (checked by the service, at most MAX_RESOURCES).
 */
function authorizationParams(query: Record<string, unknown>): AuthorizationParams {
  const params: Record<string, string> = {};
  for (const name of AUTHORIZATION_PARAMS) {
    const value = query[name];
    if (Array.isArray(value)) {
      throw new AuthorizationPageError('invalid_request', `${name} is repeated.`);
    }
    if (typeof value === 'string') {
      params[name] = value;
    }
  }
  const resource = query['resource'];
  const resources = Array.isArray(resource) ? resource : resource === undefined ? [] : [resource];
  if (resources.length > MAX_RESOURCES || resources.some((value) => typeof value !== 'string')) {
    throw new AuthorizationPageError('invalid_request', 'Too many resource parameters.');
  }
  return resources.length > 0 ? { ...params, resource: resources as string[] } : params;
}

/**
 * The authorization endpoint and its pages (server-rendered, no script): sign-in, consent, error.
 * A request in progress travels between them as a sealed interaction, re-validated at every step.
 * Forms are checked to come from our own origin (CSRF); pages cannot be framed (clickjacking).
 */
@ApiTags('oauth')
@Public()
@Controller()
export class AuthorizationPagesController {
  constructor(
    private readonly authorization: AuthorizationService,
    private readonly interactions: InteractionSealer,
    private readonly sessions: SessionService,
    private readonly authenticator: PasswordAuthenticator,
    private readonly browser: BrowserSignInReader,
    private readonly mfa: MfaService,
    private readonly federation: FederationService,
    private readonly passkeys: PasskeyService,
  ) {}

  @Get('assets/gatehouse.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=86400')
  @ApiExcludeEndpoint()
  stylesheet(): string {
    return STYLESHEET;
  }

  @Get('assets/passkey.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  @ApiExcludeEndpoint()
  passkeyScript(): string {
    return PASSKEY_SCRIPT;
  }

  @Get('oauth/authorize')
  @ApiOperation({
    summary: 'Authorization endpoint (RFC 6749 §4.1): response_type=code with PKCE S256.',
    description:
      'A browser navigation, not an API call. Redirects to the sign-in and consent pages as needed, then to the redirect_uri with code, state and iss (RFC 9207), or with an error. An unknown client or unregistered redirect_uri is shown on an error page, never redirected.',
  })
  @ApiPageQuery([
    { name: 'response_type', required: true, description: '`code`, the only one served.' },
    {
      name: 'client_id',
      required: true,
      description: 'A client with the authorization_code grant.',
    },
    {
      name: 'redirect_uri',
      required: true,
      description: "One of the client's registered redirect URIs, exactly.",
    },
    {
      name: 'code_challenge',
      required: true,
      description: 'PKCE (RFC 7636): BASE64URL(SHA-256(code_verifier)), required of every client.',
    },
    {
      name: 'code_challenge_method',
      required: true,
      description: '`S256`, the only one accepted.',
    },
    { name: 'scope', description: "Space-separated; a subset of the client's scopes." },
    {
      name: 'state',
      description: 'Passed back; required of clients registered with requireState.',
    },
    { name: 'nonce', description: 'OpenID Connect: copied into the ID token.' },
    {
      name: 'prompt',
      description: '`login` (sign in again), `consent` (ask again) or `none` (never show a page).',
    },
    {
      name: 'max_age',
      description: 'Seconds since the last sign-in beyond which to sign in again.',
    },
    {
      name: 'acr_values',
      description:
        'Space-separated classes, any of which will do: `urn:gatehouse:acr:pwd`, `urn:gatehouse:acr:mfa`, `phr`. A browser session whose sign-in reaches none of them signs in again (with its second step); a user without such a factor goes on with what they have (the token says `acr`). Unknown values are ignored.',
    },
    {
      name: 'resource',
      repeated: true,
      description: 'RFC 8707 resource indicators: the audiences the tokens are for.',
    },
  ])
  @ApiPageResponses(
    {
      200: "The consent page, for a third-party client that needs the user's approval.",
      400: 'Error page: unknown client or redirect_uri, or an interaction that expired.',
    },
    'To the sign-in page when the user must sign in; else to the redirect_uri with code, state and iss, or with error and error_description.',
  )
  async authorize(
    @Query() query: Record<string, unknown>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // No interaction yet: whoever is signed in signed in before this request.
    await this.step(reply, request, () => authorizationParams(query), {
      startedAt: Number.POSITIVE_INFINITY,
      consented: false,
      sealed: undefined,
    });
  }

  @Get('oauth/authorize/resume')
  @ApiExcludeEndpoint()
  async resume(
    @Query('interaction') sealed: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const interaction = this.interactions.resume(sealed);
    await this.step(
      reply,
      request,
      () => {
        if (!interaction) {
          throw new AuthorizationPageError(
            'invalid_request',
            'This sign-in request has expired. Go back to the application and start again.',
          );
        }
        return interaction.params;
      },
      { startedAt: interaction?.startedAt ?? 0, consented: false, sealed },
    );
  }

  @Post('oauth/authorize/consent')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async consent(
    @Body() form: Form,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const interaction = this.interactions.resume(form['interaction']);
    await this.step(
      reply,
      request,
      () => {
        this.assertOwnOrigin(request);
        if (!interaction) {
          throw new AuthorizationPageError('invalid_request', 'This request has expired.');
        }
        return interaction.params;
      },
      {
        startedAt: interaction?.startedAt ?? 0,
        consented: form['decision'] === 'approve',
        denied: form['decision'] !== 'approve',
        sealed: form['interaction'],
      },
    );
  }

  @Get('signin')
  @ApiExcludeEndpoint()
  signInPage(
    @Query('interaction') sealed: string | undefined,
    @Query('device') device: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    return this.sendSignIn(reply, signInNextOf(sealed, device), null, 200);
  }

  @Post('signin')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async signIn(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const next = signInNextOf(form['interaction'], form['device']);
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the sign-in page.');
    }
    try {
      const outcome = await this.authenticator.authenticate({
        email: form['email'] ?? '',
        password: form['password'] ?? '',
        ip: client.ip,
      });
      if (outcome.status === 'mfa-required') {
        return this.sendSecondStep(reply, next, outcome.mfaToken, null, 200);
      }
      await this.startSession(outcome.signIn, client, request, reply);
    } catch (error) {
      if (error instanceof InvalidCredentialsError) {
        return this.sendSignIn(reply, next, 'The email or password is incorrect.', 401);
      }
      if (error instanceof RateLimitedError) {
        return this.sendSignIn(reply, next, 'Too many attempts. Try again later.', 429);
      }
      if (error instanceof ServiceBusyError) {
        void reply.headers(error.headers);
        return this.sendSignIn(reply, next, 'The service is busy. Try again in a moment.', 503);
      }
      if (error instanceof EmailNotVerifiedError) {
        return this.sendUnverified(reply, error);
      }
      throw error;
    }
    return this.continueSignedIn(reply, next);
  }

  /**
   * "Sign in with a passkey" on the sign-in page: the assertion `/assets/passkey.js` posts, then on
   * exactly like a password sign-in (the authorization request or the device page).
   */
  @Post('signin/passkey')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async signInWithPasskey(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const next = signInNextOf(form['interaction'], form['device']);
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the sign-in page.');
    }
    try {
      const credential = passkeyCredential(form['credential']);
      if (!credential) {
        throw new PasskeyInvalidError();
      }
      const signIn = await this.passkeys.signIn(credential, client.ip);
      await this.startSession(signIn, client, request, reply);
    } catch (error) {
      if (error instanceof PasskeyInvalidError) {
        return this.sendSignIn(reply, next, 'The passkey could not be verified.', 401);
      }
      if (error instanceof RateLimitedError) {
        return this.sendSignIn(reply, next, 'Too many attempts. Try again later.', 429);
      }
      throw error;
    }
    return this.continueSignedIn(reply, next);
  }

  /**
   * The second step of the sign-in page: a TOTP code, a recovery code, or a passkey's assertion
   * (posted by `/assets/passkey.js`), for the mfa token.
   */
  @Post('signin/mfa')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async signInSecondStep(
    @Body() form: Form,
    @RequestClient() client: ClientContext,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<FastifyReply> {
    const next = signInNextOf(form['interaction'], form['device']);
    if (!this.browser.fromOwnPage(request)) {
      return sendErrorPage(reply, 403, 'This form must be sent from the sign-in page.');
    }
    const mfaToken = form['mfa_token'] ?? '';
    const recoveryCode = form['recovery_code']?.trim();
    const passkey = form['credential'] !== undefined;
    try {
      const assertion = passkey ? passkeyCredential(form['credential']) : null;
      if (passkey && !assertion) {
        throw new PasskeyInvalidError();
      }
      const proof = assertion
        ? { assertion }
        : recoveryCode
          ? { recoveryCode }
          : { code: form['code']?.trim() ?? '' };
      const signIn = await this.mfa.complete(mfaToken, proof, client.ip);
      await this.startSession(signIn, client, request, reply);
    } catch (error) {
      if (error instanceof MfaCodeInvalidError) {
        const problem = 'The code is incorrect or was already used.';
        return this.sendSecondStep(reply, next, mfaToken, problem, 401);
      }
      if (error instanceof PasskeyInvalidError) {
        const problem = 'The passkey could not be verified.';
        return this.sendSecondStep(reply, next, mfaToken, problem, 401);
      }
      if (error instanceof MfaTokenInvalidError) {
        return this.sendSignIn(reply, next, 'This sign-in has expired. Sign in again.', 401);
      }
      if (error instanceof RateLimitedError) {
        void reply.headers(error.headers);
        const problem = 'Too many attempts. Try again later.';
        return this.sendSecondStep(reply, next, mfaToken, problem, 429);
      }
      throw error;
    }
    return this.continueSignedIn(reply, next);
  }

  private async startSession(
    signIn: SignIn,
    client: ClientContext,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const started = await this.sessions.startCookieSession(
      signIn,
      client,
      request.cookies[this.browser.cookieName],
    );
    setSessionCookie(reply, this.browser.cookieName, started.token, started.maxAgeSeconds);
  }

  /** Signed in: on to the device page or the authorization request the sign-in was for. */
  private continueSignedIn(reply: FastifyReply, next: SignInNext): FastifyReply {
    const { sealed } = next;
    if (next.device !== undefined) {
      // Back to the device page, with the code typed so far if it is one (never a URL of the form's).
      const userCode = normalizeUserCode(next.device);
      return reply.redirect(
        userCode ? `/device?user_code=${formatUserCode(userCode)}` : '/device',
        303,
      );
    }
    if (!this.interactions.resume(sealed)) {
      return sendPage(reply, 200, signedInPage());
    }
    return reply.redirect(
      `/oauth/authorize/resume?interaction=${encodeURIComponent(sealed!)}`,
      303,
    );
  }

  /** Validate, then sign in, consent or redirect, whichever comes next. */
  private async step(
    reply: FastifyReply,
    request: FastifyRequest,
    params: () => AuthorizationParams,
    progress: {
      readonly startedAt: number;
      readonly consented: boolean;
      readonly denied?: boolean;
      readonly sealed: string | undefined;
    },
  ): Promise<void> {
    let valid: AuthorizationRequest | undefined;
    try {
      const given = params();
      valid = await this.authorization.validate(given);
      if (progress.denied) {
        throw new AuthorizationRedirectError(valid, 'access_denied', 'The user declined.');
      }
      const user = await this.browser.current(request);
      const next = await this.authorization.next(valid, user, {
        signedInDuringRequest: user !== null && user.authTime.getTime() >= progress.startedAt,
        consented: progress.consented,
      });
      const sealed = progress.sealed ?? this.interactions.start(given);
      switch (next.next) {
        case 'redirect':
          void reply.redirect(next.location, 303);
          return;
        case 'sign-in':
          void reply.redirect(`/signin?interaction=${encodeURIComponent(sealed)}`, 303);
          return;
        case 'consent':
          this.sendConsent(reply, valid, next.scopes, sealed);
          return;
      }
    } catch (error) {
      if (error instanceof AuthorizationRedirectError) {
        const location = this.authorization.redirectLocation(error.request, {
          error: error.error,
          error_description: error.description,
        });
        void reply.redirect(location, 303);
        return;
      }
      if (error instanceof AuthorizationPageError) {
        sendErrorPage(reply, 400, error.description);
        return;
      }
      throw error;
    }
  }

  private assertOwnOrigin(request: FastifyRequest): void {
    if (!this.browser.fromOwnPage(request)) {
      throw new AuthorizationPageError('invalid_request', 'This form must be sent from our page.');
    }
  }

  /** Where a sign-in form goes on: the live interaction, else the device code typed so far. */
  private signInTargets(next: SignInNext): {
    interaction: string | undefined;
    deviceCode: string | undefined;
    formTargets: string[];
  } {
    const { sealed, device } = next;
    const interaction = this.interactions.resume(sealed);
    const redirectOrigin = originOf(interaction?.params.redirect_uri);
    return {
      interaction: interaction && sealed ? sealed : undefined,
      deviceCode: device !== undefined ? (normalizeUserCode(device) ?? '') : undefined,
      formTargets: redirectOrigin ? [redirectOrigin] : [],
    };
  }

  /** The second step: the app's code when the user has one, "Use a passkey" when they have one. */
  private async sendSecondStep(
    reply: FastifyReply,
    next: SignInNext,
    mfaToken: string,
    problem: string | null,
    status: number,
  ): Promise<FastifyReply> {
    const { formTargets, ...where } = this.signInTargets(next);
    const methods = await this.mfa.methodsFor(mfaToken);
    const passkey = methods.includes('passkey');
    // An expired token knows no methods: the form stays as it was (its post answers the expiry).
    const totp = methods.includes('totp') || !passkey;
    return sendPage(
      reply,
      status,
      signInSecondStepPage({ problem, mfaToken, totp, passkey, ...where }),
      formTargets,
    );
  }

  /** The sign-in form; `next` is where it goes on: an authorization request or the device page. */
  private async sendSignIn(
    reply: FastifyReply,
    next: SignInNext,
    problem: string | null,
    status: number,
  ): Promise<FastifyReply> {
    const { formTargets, ...where } = this.signInTargets(next);
    const federatedProviders = await this.federation.listEnabledProviders();
    return sendPage(
      reply,
      status,
      signInPage({ problem, ...where, federatedProviders }),
      formTargets,
    );
  }

  private sendUnverified(reply: FastifyReply, error: EmailNotVerifiedError): FastifyReply {
    const ticket = this.interactions.startVerificationResend(error.userId);
    return sendPage(reply, 403, confirmYourEmailPage({ message: error.message, ticket }));
  }

  private sendConsent(
    reply: FastifyReply,
    request: AuthorizationRequest,
    scopes: readonly string[],
    sealed: string,
  ): void {
    sendPage(
      reply,
      200,
      consentPage({ clientName: request.client.name, scopes, interaction: sealed }),
      [new URL(request.redirectUri).origin],
    );
  }
}
