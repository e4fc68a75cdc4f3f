import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

import { freePort } from './test-app.js';

/**
 * A real SMTP server in the test process (smtp-server), every message parsed with mailparser. It can
 * be started late or stopped, to play an SMTP outage on a fixed port.
 */
export class SmtpInbox {
  readonly messages: ParsedMail[] = [];
  private server: SMTPServer | undefined;
  private holding: (() => void) | undefined;

  private constructor(readonly port: number) {}

  /** An inbox on a free port; `listening: false` reserves the port but answers nothing yet. */
  static async on({ listening = true } = {}): Promise<SmtpInbox> {
    const inbox = new SmtpInbox(await freePort());
    if (listening) {
      await inbox.start();
    }
    return inbox;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ParsedMail[] {
    return this.messages.filter((message) =>
      [message.to ?? []].flat().some((to) => to.value.some((entry) => entry.address === address)),
    );
  }

  /**
   * The next message's DATA is read but never answered, so its sender stays in the middle of the
   * send (until it gives up or dies); it is not counted in `messages`. Resolves once that DATA began.
   */
  holdNextDelivery(): Promise<void> {
    return new Promise((resolve) => (this.holding = resolve));
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        const held = this.holding;
        if (held) {
          this.holding = undefined;
          stream.resume();
          held();
          return;
        }
        simpleParser(stream).then(
          (message) => {
            this.messages.push(message);
            done();
          },
          (error: Error) => done(error),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
