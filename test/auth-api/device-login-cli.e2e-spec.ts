import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { resolve } from 'node:path';

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock } from '@gatehouse/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { COOKIE_NAME, givenUser, type TestUser } from '../support/http.js';
import { freePort, givenAuthApi } from '../support/test-app.js';

const CLI = resolve(import.meta.dirname, '../../examples/device-login.mjs');
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const INTERVAL_SECONDS = 1;

/** One poll of the token endpoint as the proxy saw it: when it arrived and what it was answered. */
interface Poll {
  readonly at: number;
  readonly status: number;
  readonly error: string | null;
}

/**
 * A plain HTTP proxy in front of auth-api (whose issuer is the proxy's URL), recording every device
 * code poll. With `provokeSlowDown`, the CLI's first poll is sent on twice at once: the second copy
 * arrives too soon, so auth-api itself answers `slow_down` (and grows the interval), and that real
 * answer is what the CLI gets.
 */
class PollingProxy {
  readonly polls: Poll[] = [];
  /** Every request that went through, as `METHOD /path`. */
  readonly requests: string[] = [];
  provokeSlowDown = false;
  private server: Server | undefined;

  constructor(private readonly upstream: string) {}

  async listen(port: number): Promise<void> {
    this.server = createServer((request, response) => {
      void this.forward(request).then(
        ({ status, headers, body }) => {
          response.writeHead(status, headers);
          response.end(body);
        },
        () => {
          response.writeHead(502);
          response.end();
        },
      );
    });
    // Fastify's keep-alive (72 s), not node:http's 5 s: the CLI waits 6 s after slow_down, and a
    // pooled connection the proxy closes just as the CLI reuses it fails its POST ("fetch failed").
    this.server.keepAliveTimeout = 72_000;
    await new Promise<void>((done) => this.server!.listen(port, '127.0.0.1', done));
  }

  close(): Promise<void> {
    return new Promise((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  private async forward(
    request: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) {
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    this.requests.push(`${request.method} ${request.url}`);
    const send = async () => {
      const answer = await fetch(new URL(request.url!, this.upstream), {
        method: request.method,
        redirect: 'manual',
        headers: Object.fromEntries(
          Object.entries(request.headers).filter(
            (entry): entry is [string, string] =>
              typeof entry[1] === 'string' && entry[0] !== 'host' && entry[0] !== 'connection',
          ),
        ),
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : body,
      });
      const text = Buffer.from(await answer.arrayBuffer());
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'transfer-encoding', 'connection'].includes(name)) {
          headers[name] = value;
        }
      });
      return { status: answer.status, headers, body: text };
    };
    const isPoll =
      request.url === '/oauth/token' &&
      new URLSearchParams(body.toString()).get('grant_type') === DEVICE_GRANT;
    if (!isPoll) {
      return send();
    }
    let answer = await send();
    this.record(answer);
    if (this.provokeSlowDown && this.polls.length === 1) {
      answer = await send();
      this.record(answer);
    }
    return answer;
  }

  private record(answer: { status: number; body: Buffer }): void {
    const error =
      answer.status === 200
        ? null
        : (JSON.parse(answer.body.toString()) as { error: string }).error;
    this.polls.push({ at: Date.now(), status: answer.status, error });
  }
}

/** The example CLI as a user runs it (`npm run example:device-login` runs exactly this file). */
class CliRun {
  readonly process: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  readonly exited: Promise<number | null>;

  constructor(issuer: string) {
    this.process = spawn(process.execPath, [CLI, '--issuer', issuer], {
      env: { PATH: process.env['PATH'] ?? '' },
    });
    this.process.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((done) => this.process.on('exit', (code) => done(code)));
  }

  get output(): { stdout: string; stderr: string } {
    return { stdout: this.stdout, stderr: this.stderr };
  }

  /** The user code the CLI told its user to enter. */
  async userCode(): Promise<string> {
    await expect
      .poll(() => /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(this.stdout)?.[1], { timeout: 10_000 })
      .toBeDefined();
    return /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(this.stdout)![1]!;
  }
}

/**
 * Acceptance 3 of issue #8: the example CLI performs the device flow against a listening auth-api and
 * prints who it is signed in as, while the test approves the code through the device page; the CLI
 * honours `slow_down`; denial and expiry end it with a clear message and a non-zero exit.
 */
describe('example CLI: npm run example:device-login', () => {
  let app: NestFastifyApplication;
  let proxy: PollingProxy;
  let issuer: string;
  let runs: CliRun[] = [];

  beforeAll(async () => {
    const [appPort, proxyPort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${proxyPort}`;
    app = await givenAuthApi({
      ISSUER: issuer,
      DEVICE_CODE_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
    });
    await app.listen(appPort, '127.0.0.1');
    proxy = new PollingProxy(`http://127.0.0.1:${appPort}`);
    await proxy.listen(proxyPort);
  });
  afterEach(() => {
    for (const run of runs) {
      run.process.kill();
    }
    runs = [];
    proxy.polls.length = 0;
    proxy.requests.length = 0;
    proxy.provokeSlowDown = false;
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await proxy?.close();
    await app?.close();
  });

  function startCli(): CliRun {
    const run = new CliRun(issuer);
    runs.push(run);
    return run;
  }

  /** Signs in on the device page and answers, as a person in a browser would (via the proxy). */
  async function answerOnDevicePage(
    user: TestUser,
    userCode: string,
    decision: 'approve' | 'deny',
  ): Promise<{ page: string; cookie: string }> {
    const form = (fields: Record<string, string>, cookie?: string) => ({
      method: 'POST',
      redirect: 'manual' as const,
      headers: {
        origin: issuer,
        'content-type': 'application/x-www-form-urlencoded',
        ...(cookie ? { cookie } : {}),
      },
      body: new URLSearchParams(fields).toString(),
    });
    // verification_uri_complete, signed out: to the sign-in page, which keeps the code.
    const start = await fetch(`${issuer}/device?user_code=${userCode}`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    expect(start.headers.get('location')).toBe(`/signin?device=${userCode}`);
    const signIn = await fetch(
      `${issuer}/signin`,
      form({ email: user.email, password: user.password, device: userCode }),
    );
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe(`/device?user_code=${userCode}`);
    const token = new RegExp(`${COOKIE_NAME}=([^;]+)`).exec(
      signIn.headers.getSetCookie().join('\n'),
    )![1]!;
    const cookie = `${COOKIE_NAME}=${token}`;
    const confirmation = await fetch(`${issuer}/device?user_code=${userCode}`, {
      headers: { cookie },
    });
    expect(confirmation.status).toBe(200);
    expect(await confirmation.text()).toContain(userCode);
    const answered = await fetch(
      `${issuer}/device/decision`,
      form({ user_code: userCode, decision }, cookie),
    );
    expect(answered.status).toBe(200);
    return { page: await answered.text(), cookie };
  }

  it('signs the CLI in once the user approves on the device page, honouring slow_down', async () => {
    const user = await givenUser(app);
    proxy.provokeSlowDown = true;
    const cli = startCli();
    const userCode = await cli.userCode();
    expect(cli.output.stdout).toContain(`open ${issuer}/device and enter the code ${userCode}`);
    // The link with the code is the CLI's next line, which may arrive in a later chunk of stdout.
    await vi.waitFor(() =>
      expect(cli.output.stdout).toContain(`${issuer}/device?user_code=${userCode}`),
    );

    // auth-api answered the duplicated first poll with slow_down: the CLI now waits 1 + 5 s.
    await expect
      .poll(() => proxy.polls.map((poll) => poll.error), { timeout: 10_000 })
      .toEqual(['authorization_pending', 'slow_down']);
    const { page, cookie } = await answerOnDevicePage(user, userCode, 'approve');
    expect(page).toContain('Device connected');

    expect(await cli.exited, JSON.stringify(cli.output)).toBe(0);
    // The email comes from userinfo (scope "openid email"), user and session from the ID token.
    const signedIn = /Signed in as (\S+) \(user (\S+), session (\S+)\)/.exec(cli.output.stdout);
    expect(signedIn?.slice(1)).toEqual([
      user.email,
      user.id,
      expect.stringMatching(/^[0-9a-f-]{36}$/),
    ]);
    expect(proxy.requests).toContain('GET /oauth/userinfo');
    expect(cli.output.stdout).toContain('with a refresh token');
    // auth-api answers slow_down to any poll that comes before the grown interval (interval + 5 s,
    // RFC 8628 §3.5) has passed: none after the first was refused, so the CLI honoured it.
    const [, , ...after] = proxy.polls;
    expect(after.length).toBeGreaterThan(0);
    expect(after.map((poll) => poll.error)).not.toContain('slow_down');
    expect(after.at(-1)).toMatchObject({ status: 200, error: null });

    // The session is the user's, for the first-party client, like any other sign-in.
    const sessions = await app.inject({
      method: 'GET',
      url: '/me/sessions',
      headers: { cookie },
    });
    expect(sessions.json<{ kind: string; client: { id: string } | null }[]>()).toContainEqual(
      expect.objectContaining({
        id: signedIn![3],
        kind: 'token',
        client: expect.objectContaining({ id: 'gatehouse-first-party' }),
      }),
    );
  });

  it('stops with access_denied when the user denies', async () => {
    const user = await givenUser(app);
    const cli = startCli();
    const userCode = await cli.userCode();
    expect((await answerOnDevicePage(user, userCode, 'deny')).page).toContain('Request denied');
    expect(await cli.exited).toBe(1);
    expect(cli.output.stderr).toBe(
      'Device login failed: access_denied: The user denied the request.\n',
    );
    expect(cli.output.stdout).not.toContain('Signed in as');
  });

  it('stops with expired_token when nobody answers in time', async () => {
    const cli = startCli();
    await cli.userCode();
    await expect.poll(() => proxy.polls.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Ten minutes later, as far as auth-api can tell.
    const clock = app.get(Clock);
    const now = clock.now();
    vi.spyOn(clock, 'now').mockReturnValue(new Date(now.getTime() + 601_000));
    expect(await cli.exited).toBe(1);
    expect(cli.output.stderr).toBe(
      'Device login failed: expired_token: The device code has expired. Start again.\n',
    );
  });
});
