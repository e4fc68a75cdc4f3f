import { formatUtc, html, link } from '../mail-markup.js';
import { inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';

export interface MfaResetParams {
  /** ISO 8601. */
  readonly resetAt: string;
}

/**
 * An operator removed every second factor of the account (`DELETE /admin/users/:id/mfa`): the owner
 * hears of it, since the account is now protected by its password alone.
 */
export const mfaReset: MailTemplate<MfaResetParams, null> = {
  render(context, params) {
    const when = formatUtc(new Date(params.resetAt));
    const recover = link(context.issuer, '/forgot-password');
    const subject = `The second factors of your ${context.productName} account were reset`;
    return inLayout(context, {
      subject,
      text: [
        `An administrator removed every second factor (authenticator apps, recovery codes) of your ${context.productName} account ${context.recipient} on ${when}, and signed out all its sessions. You can now sign in with your password alone.`,
        'Once signed in, enrol a new authenticator app in your account settings.',
        `If you did not ask for this, choose a new password at once at ${recover} and contact your administrator.`,
      ],
      html: html`<p>
          An administrator removed every second factor (authenticator apps, recovery codes) of your
          ${context.productName} account <strong>${context.recipient}</strong> on ${when}, and
          signed out all its sessions. You can now sign in with your password alone.
        </p>
        <p>Once signed in, enrol a new authenticator app in your account settings.</p>
        <p>
          If you did not ask for this, <a href="${recover}">choose a new password</a> at once and
          contact your administrator.
        </p>`,
    });
  },
};
