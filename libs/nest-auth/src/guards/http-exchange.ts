import type { ExecutionContext } from '@nestjs/common';

/** The few request fields the guards read, the same on Fastify and Express. */
export interface GuardedRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  [key: string]: unknown;
}

/** A Fastify reply (`header`, which appends for set-cookie) or an Express response (`setHeader`, `append`). */
interface AnyResponse {
  header?: (name: string, value: string) => unknown;
  append?: (name: string, value: string) => unknown;
  setHeader?: (name: string, value: string) => unknown;
}

export class HttpExchange {
  readonly request: GuardedRequest;
  private readonly response: AnyResponse;

  constructor(context: ExecutionContext) {
    const http = context.switchToHttp();
    this.request = http.getRequest<GuardedRequest>();
    this.response = http.getResponse<AnyResponse>();
  }

  header(name: string): string | undefined {
    const value = this.request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /**
   * The first cookie of that name (RFC 6265 §5.4 sends the most specific path first): as a cookie
   * plugin already parsed it (`request.cookies` of @fastify/cookie or Express's cookie-parser, which
   * keep the first too), or read off the header.
   */
  cookie(name: string): string | undefined {
    const parsed = this.request['cookies'];
    if (typeof parsed === 'object' && parsed !== null) {
      const value = (parsed as Record<string, unknown>)[name];
      return typeof value === 'string' ? value : undefined;
    }
    for (const pair of (this.header('cookie') ?? '').split(';')) {
      const separator = pair.indexOf('=');
      if (separator > 0 && pair.slice(0, separator).trim() === name) {
        return pair.slice(separator + 1).trim();
      }
    }
    return undefined;
  }

  setHeader(name: string, value: string): void {
    if (
      typeof this.response.setHeader === 'function' &&
      typeof this.response.append === 'function'
    ) {
      this.response.setHeader(name, value);
    } else {
      this.response.header?.(name, value);
    }
  }

  /** Expires the cookie in the browser with the attributes it was set with. */
  clearCookie(name: string): void {
    const expired = `${name}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`;
    if (typeof this.response.append === 'function') {
      this.response.append('Set-Cookie', expired);
    } else {
      this.response.header?.('set-cookie', expired);
    }
  }
}
