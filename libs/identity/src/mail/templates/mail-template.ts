/** What every template may use besides its own parameters. */
export interface MailContext {
  readonly productName: string;
  /** Public base URL of auth-api: every link in a mail starts with it. */
  readonly issuer: string;
  readonly recipient: string;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * One mail kind. `Params` are stored in clear (dates, durations); `Secret` (a token) is stored
 * sealed and wiped once the mail is sent. Templates are pure: same input, same mail.
 */
export interface MailTemplate<Params, Secret> {
  render(context: MailContext, params: Params, secret: Secret): RenderedMail;
}
