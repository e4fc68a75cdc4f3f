import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type Browser, chromium, type Page, type Response } from 'playwright-core';

/** Debian's `chromium` package: the browser tests drive it, not a Playwright-downloaded build. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, as root, on a closed network: no sandbox, GPU, QUIC or background traffic. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser tests run. `npm install` cannot install a browser, so on a machine without
 * Debian's chromium they are skipped with a warning, unless GATEHOUSE_REQUIRE_BROWSER=1 (set by
 * .ci/run, which installs it): then a missing browser fails the run.
 */
export function browserTestsEnabled(): boolean {
  if (existsSync(CHROMIUM_PATH) || process.env['GATEHOUSE_REQUIRE_BROWSER'] === '1') {
    return true;
  }
  console.warn(
    `Browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium to run them).`,
  );
  return false;
}

/** Chromium through playwright-core; fails when the Debian package is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}, and the browser tests need it. ` +
        "Install Debian's package: `apt-get install chromium` (as root).",
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** A request the relying party's server received. */
export interface ReceivedRequest {
  readonly url: URL;
  readonly cookie: string | undefined;
}

/**
 * A third-party client's redirect_uri, really served: what the browser lands on. It is
 * `http://localhost:<port>`, another site than an issuer on `http://127.0.0.1` (cookies are scoped
 * by host, not port: on 127.0.0.1 it would be sent the issuer's cookies).
 */
export interface RedirectTarget {
  /** The URI to register and send as redirect_uri. */
  readonly uri: string;
  /** Every request it received, in order. */
  readonly received: readonly ReceivedRequest[];
  close(): Promise<void>;
}

export async function givenRedirectTarget(): Promise<RedirectTarget> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    received.push({
      url: new URL(request.url ?? '/', `http://${request.headers.host}`),
      cookie: request.headers.cookie,
    });
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>Callback</title><p>Signed in.</p>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    // Chromium resolves localhost to loopback itself, falling back from ::1 to 127.0.0.1.
    uri: `http://localhost:${port}/callback`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Clicks a form's submit button and waits for the page it leads to (after any redirects); if that
 * is not where expected, says where it is, what it says, and the Origin the browser sent with the
 * form (what the pages' CSRF check reads). Answers the response of the page it landed on.
 */
export async function submitForm(
  page: Page,
  button: string,
  expected: (url: URL) => boolean,
): Promise<Response> {
  const posted = page.waitForRequest(
    (request) => request.method() === 'POST' && request.isNavigationRequest(),
  );
  // The document the browser ends on: the last response of the main frame's navigation, after
  // any redirects (those are responses too, with a 3xx status).
  const landed = page.waitForResponse(
    (response) =>
      response.request().isNavigationRequest() &&
      response.frame() === page.mainFrame() &&
      (response.status() < 300 || response.status() >= 400),
  );
  const loaded = page.waitForEvent('load');
  await page.getByRole('button', { name: button, exact: true }).click();
  const [post, response] = await Promise.all([posted, landed, loaded]);
  if (!expected(new URL(page.url()))) {
    const alert = (await page.getByRole('alert').allTextContents()).join(' ');
    throw new Error(
      `After "${button}" (POST ${new URL(post.url()).pathname}, Origin: ` +
        `${(await post.headerValue('origin')) ?? '(none)'}) the browser is at ${page.url()}, ` +
        `"${await page.title()}"${alert ? `: ${alert}` : ''}`,
    );
  }
  return response;
}
