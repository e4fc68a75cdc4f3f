import { COOKIE_NAME } from './http.js';

/**
 * The user's browser over real HTTP (fetch), reduced to what the page flows need: follows nothing by
 * itself (`redirect: 'manual'`), keeps the session cookie, and posts forms from the issuer's own pages
 * (`Origin`). Real browsers are driven in test/browser/.
 */
export class HttpBrowser {
  private cookie: string | null = null;

  constructor(
    private readonly origin: string,
    private readonly cookieName = COOKIE_NAME,
  ) {}

  /** The `cookie` header it sends now (null: none). */
  get sessionCookie(): string | null {
    return this.cookie;
  }

  get signedIn(): boolean {
    return this.cookie !== null;
  }

  async get(url: string | URL): Promise<Response> {
    return this.remember(
      await fetch(new URL(url, this.origin), {
        redirect: 'manual',
        headers: this.cookie ? { cookie: this.cookie } : {},
      }),
    );
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.remember(
      await fetch(new URL(path, this.origin), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          origin: this.origin,
          'content-type': 'application/x-www-form-urlencoded',
          ...(this.cookie ? { cookie: this.cookie } : {}),
        },
        body: new URLSearchParams(form).toString(),
      }),
    );
  }

  private remember(response: Response): Response {
    for (const setCookie of response.headers.getSetCookie()) {
      const value = new RegExp(`^${this.cookieName}=([^;]*)`).exec(setCookie)?.[1];
      if (value !== undefined) {
        this.cookie = value ? `${this.cookieName}=${value}` : null;
      }
    }
    return response;
  }
}
