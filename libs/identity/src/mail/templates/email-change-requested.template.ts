import { html, link } from '../mail-markup.js';
import { actionLink, inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';
import type { TokenMailSecret } from './password-reset.template.js';

export interface EmailChangeRequestedParams {
  readonly newEmail: string;
  readonly expiresInMinutes: number;
}

/**
 * OWASP Authentication Cheat Sheet: tell the current address when the account's address is about to
 * change, with a link (`{ISSUER}/cancel-email-change?token=…`) that voids the change.
 */
export const emailChangeRequested: MailTemplate<EmailChangeRequestedParams, TokenMailSecret> = {
  render(context, params, secret) {
    const href = link(context.issuer, '/cancel-email-change', { token: secret.token });
    const recover = link(context.issuer, '/forgot-password');
    return inLayout(context, {
      subject: `Your ${context.productName} email address is about to change`,
      text: [
        `Someone asked to change the address of the ${context.productName} account ${context.recipient} to ${params.newEmail}. It changes once the new address is confirmed.`,
        'If you made this request, there is nothing to do.',
        `If you did not, cancel it within ${params.expiresInMinutes} minutes: ${href}`,
        `Then choose a new password at ${recover}: whoever asked knows yours.`,
      ],
      html: html`<p>
          Someone asked to change the address of the ${context.productName} account
          <strong>${context.recipient}</strong> to <strong>${params.newEmail}</strong>. It changes
          once the new address is confirmed.
        </p>
        <p>If you made this request, there is nothing to do.</p>
        <p>If you did not, cancel it within ${params.expiresInMinutes} minutes:</p>
        ${actionLink('Cancel the change', href)}
        <p>Then <a href="${recover}">choose a new password</a>: whoever asked knows yours.</p>`,
    });
  },
};
