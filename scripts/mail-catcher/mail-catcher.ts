import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { SMTPServer } from 'smtp-server';

import { type CaughtMail, parseMail } from './caught-mail.js';
import { MAIL_HTML_POLICY, renderPage, sendHtml, STYLESHEET } from './catcher-page.js';
import { inboxPage } from './inbox.page.js';
import { messagePage } from './message.page.js';

/** The newest mails kept; older ones are dropped (a development tool, in memory only). */
const KEPT = 500;

export interface MailCatcherOptions {
  readonly host: string;
  readonly port: number;
  readonly smtpPort: number;
}

function listen(server: Server | SMTPServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/**
 * The development mail catcher: an SMTP server that accepts every mail (any login, no TLS) and a
 * small server-rendered page listing them, so a newcomer reads the reset mail in a browser. Run by
 * `npm start` without `SMTP_URL` and by docker-compose's `mail-catcher` service.
 */
export class MailCatcher {
  private readonly mails: CaughtMail[] = [];
  private nextId = 1;
  private readonly smtp: SMTPServer;
  private readonly http: Server;

  constructor(private readonly options: MailCatcherOptions) {
    this.smtp = new SMTPServer({
      authOptional: true,
      onAuth: (_auth, _session, done) => done(null, { user: 'catcher' }),
      disabledCommands: ['STARTTLS'],
      size: 10 * 1024 * 1024,
      logger: false,
      banner: 'Gatehouse mail catcher',
      onData: (stream, _session, done) => {
        parseMail(this.nextId++, stream).then(
          (mail) => {
            this.mails.unshift(mail);
            this.mails.splice(KEPT);
            done();
          },
          (error: Error) => done(error),
        );
      },
    });
    this.http = createServer((request, response) => this.answer(request, response));
  }

  get smtpUrl(): string {
    return `smtp://${this.loopback}:${this.options.smtpPort}`;
  }

  get pageUrl(): string {
    return `http://${this.loopback}:${this.options.port}`;
  }

  async start(): Promise<void> {
    await listen(this.smtp, this.options.smtpPort, this.options.host);
    await listen(this.http, this.options.port, this.options.host);
  }

  async stop(): Promise<void> {
    await Promise.all([
      new Promise<void>((resolve) => this.smtp.close(() => resolve())),
      new Promise<void>((resolve) => {
        this.http.closeAllConnections();
        this.http.close(() => resolve());
      }),
    ]);
  }

  private get loopback(): string {
    return ['0.0.0.0', '::', 'localhost'].includes(this.options.host)
      ? '127.0.0.1'
      : this.options.host;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://catcher').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/') {
      sendHtml(response, 200, inboxPage(this.mails));
    } else if (path === '/style.css') {
      response.writeHead(200, { 'content-type': 'text/css; charset=utf-8' }).end(STYLESHEET);
    } else if (path === '/health') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/messages.json') {
      response
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(this.mails));
    } else {
      this.answerMessage(path, response);
    }
  }

  private answerMessage(path: string, response: ServerResponse): void {
    const match = /^\/messages\/(\d+)(\/html)?$/.exec(path);
    const mail = match ? this.mails.find((caught) => caught.id === Number(match[1])) : undefined;
    if (!mail) {
      sendHtml(response, 404, renderPage('Not found', '<p><a href="/">All mail</a></p>'));
    } else if (match?.[2]) {
      sendHtml(response, 200, mail.html ?? '', MAIL_HTML_POLICY);
    } else {
      sendHtml(response, 200, messagePage(mail));
    }
  }
}
