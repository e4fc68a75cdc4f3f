import { formatUtc, html, link } from '../mail-markup.js';
import { inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';

export interface PasswordChangedParams {
  /** ISO 8601. */
  readonly changedAt: string;
}

/** OWASP Forgot Password / Authentication cheat sheets: tell the owner whenever the password changes. */
export const passwordChanged: MailTemplate<PasswordChangedParams, null> = {
  render(context, params) {
    const when = formatUtc(new Date(params.changedAt));
    const recover = link(context.issuer, '/forgot-password');
    const subject = `Your ${context.productName} password was changed`;
    return inLayout(context, {
      subject,
      text: [
        `The password of your ${context.productName} account ${context.recipient} was changed on ${when}. Every other session of the account was signed out.`,
        'If you made this change, there is nothing to do.',
        `If you did not, someone else knows your password: choose a new one at once at ${recover}`,
      ],
      html: html`<p>
          The password of your ${context.productName} account
          <strong>${context.recipient}</strong> was changed on ${when}. Every other session of the
          account was signed out.
        </p>
        <p>If you made this change, there is nothing to do.</p>
        <p>
          If you did not, someone else knows your password:
          <a href="${recover}">choose a new one</a> at once.
        </p>`,
    });
  },
};
