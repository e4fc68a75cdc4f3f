import { VerificationUnavailableError } from '../auth.errors.js';

/** How a sibling app reaches auth-api's RFC 7662 endpoint as a confidential client. */
export interface IntrospectionClientOptions {
  /**
   * auth-api's `introspection_endpoint` (from its discovery document). A function is asked on every
   * call, e.g. `() => discovery.require().introspection_endpoint`, and may throw
   * `VerificationUnavailableError` while the endpoint is not known yet.
   */
  readonly endpoint: string | (() => string);
  /** A confidential client of auth-api: introspection is client-authenticated (RFC 7662 §2.1). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an answer is reused. */
  readonly cacheMs?: number;
  /** Bound of the answer cache. 10 000 by default. */
  readonly maxEntries?: number;
}

/** POSTs a token to the introspection endpoint with client_secret_basic; throws on a non-2xx. */
export class IntrospectionEndpoint {
  private readonly authorization: string;

  constructor(private readonly options: IntrospectionClientOptions) {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    const encode = (value: string) => encodeURIComponent(value);
    this.authorization = `Basic ${Buffer.from(
      `${encode(options.clientId)}:${encode(options.clientSecret)}`,
    ).toString('base64')}`;
  }

  async introspect<Body>(token: string, tokenTypeHint: string): Promise<Body> {
    const { endpoint } = this.options;
    const response = await fetch(typeof endpoint === 'string' ? endpoint : endpoint(), {
      method: 'POST',
      headers: {
        authorization: this.authorization,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: tokenTypeHint }),
    }).catch((error: unknown) => {
      // auth-api unreachable: the credential may be good, so "retry later" rather than a 500.
      throw error instanceof TypeError && error.message === 'fetch failed'
        ? new VerificationUnavailableError()
        : error;
    });
    if (!response.ok) {
      throw new Error(`Introspection answered ${response.status}`);
    }
    return (await response.json()) as Body;
  }
}
