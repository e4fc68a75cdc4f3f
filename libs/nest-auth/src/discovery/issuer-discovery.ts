import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

import { VerificationUnavailableError } from '../auth.errors.js';

/** The parts of an issuer's discovery document (RFC 8414, OpenID Connect Discovery) a sibling uses. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly introspection_endpoint?: string;
  /** Gatehouse's own: the `aud` of the access tokens meant for this deployment's resource servers. */
  readonly gatehouse_access_token_audience?: string;
  readonly [member: string]: unknown;
}

/** Options of `IssuerDiscovery`. */
export interface IssuerDiscoveryOptions {
  /** The issuer's base URL; the document is read from `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** Wait before the first retry; it doubles after each failure. 250 ms by default. */
  readonly initialRetryDelayMs?: number;
  /** Longest wait between two attempts. 10 s by default. */
  readonly maxRetryDelayMs?: number;
  /** One attempt gives up after this long. 5 s by default. */
  readonly timeoutMs?: number;
}

/** A failure is logged at once, then at most this often while they repeat. */
const WARNING_EVERY_MS = 60_000;

/**
 * The issuer's discovery document, fetched without ever stopping the app: the first attempt runs at
 * application bootstrap (the app waits for that one attempt only), and while the issuer is
 * unreachable it retries with exponential backoff in the background. Until the document has arrived,
 * `require()` throws `VerificationUnavailableError` (503 with `Retry-After`), so credentials that
 * depend on it are answered "retry later", never "invalid". Register the instance as a provider of
 * the app (e.g. `{ provide: IssuerDiscovery, useFactory: () => discovery }`) so Nest starts and stops
 * it; build the verifier with `DiscoveredAccessTokenVerifier`.
 */
export class IssuerDiscovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IssuerDiscovery.name);
  private readonly url: string;
  private discovered: IssuerMetadata | undefined;
  private retryDelayMs: number;
  private nextAttemptAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private stopped = false;
  private lastWarning = 0;
  private readonly waiting: ((metadata: IssuerMetadata) => void)[] = [];

  constructor(private readonly options: IssuerDiscoveryOptions) {
    this.url = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    this.retryDelayMs = options.initialRetryDelayMs ?? 250;
  }

  /** The document, once it has been fetched. */
  get metadata(): IssuerMetadata | undefined {
    return this.discovered;
  }

  /** The document, or `VerificationUnavailableError` while the issuer has not answered yet. */
  require(): IssuerMetadata {
    if (this.discovered) {
      return this.discovered;
    }
    const seconds = Math.ceil(Math.max(0, this.nextAttemptAt - Date.now()) / 1000);
    throw new VerificationUnavailableError(Math.max(1, seconds));
  }

  /** Resolves with the document as soon as it has been fetched. */
  whenDiscovered(): Promise<IssuerMetadata> {
    return this.discovered
      ? Promise.resolve(this.discovered)
      : new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Makes the first attempt and resolves when it is over, successful or not; a failed attempt
   * schedules the next one. Never rejects. Calling it again while running does nothing more.
   */
  start(): Promise<void> {
    this.stopped = false;
    this.attempt ??= this.fetchOnce();
    return this.attempt;
  }

  /** Cancels the retries. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private async fetchOnce(): Promise<void> {
    try {
      const metadata = await this.fetchDocument();
      this.discovered = metadata;
      if (this.lastWarning !== 0) {
        this.logger.log(`Discovered the issuer ${metadata.issuer}`);
      }
      this.waiting.splice(0).forEach((resolve) => resolve(metadata));
    } catch (error) {
      this.warn(error);
      this.scheduleRetry();
    }
  }

  private async fetchDocument(): Promise<IssuerMetadata> {
    const response = await fetch(this.url, {
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) {
      throw new Error(`it answered ${response.status}`);
    }
    const metadata = (await response.json()) as Partial<IssuerMetadata> | null;
    if (typeof metadata?.issuer !== 'string' || typeof metadata.jwks_uri !== 'string') {
      throw new Error('its document has no issuer or jwks_uri');
    }
    return metadata as IssuerMetadata;
  }

  private scheduleRetry(): void {
    if (this.stopped) {
      this.attempt = undefined;
      return;
    }
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 10_000);
    this.nextAttemptAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.attempt = this.stopped ? undefined : this.fetchOnce();
    }, delay);
    this.timer.unref();
  }

  private warn(error: unknown): void {
    if (Date.now() - this.lastWarning < WARNING_EVERY_MS) {
      return;
    }
    this.lastWarning = Date.now();
    const reason = error instanceof Error ? (causeOf(error) ?? error.message) : String(error);
    this.logger.warn(
      `Issuer discovery at ${this.url} failed (${reason}); retrying in the background. ` +
        'Credentials are answered 503 until it succeeds.',
    );
  }
}

/** fetch() hides the network error (ECONNREFUSED…) in `cause`. */
function causeOf(error: Error): string | undefined {
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    return (cause as Error & { code?: string }).code ?? cause.message;
  }
  return undefined;
}
