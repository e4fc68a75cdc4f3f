import { html, link } from '../mail-markup.js';
import { actionLink, inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';
import type { TokenMailParams, TokenMailSecret } from './password-reset.template.js';

/**
 * To the new address of an email change: `{ISSUER}/confirm-email-change?token=…`. The change applies
 * only when this link is confirmed, which proves the new address belongs to the user.
 */
export const emailChangeConfirmation: MailTemplate<TokenMailParams, TokenMailSecret> = {
  render(context, params, secret) {
    const href = link(context.issuer, '/confirm-email-change', { token: secret.token });
    return inLayout(context, {
      subject: `Confirm your new email address for ${context.productName}`,
      text: [
        `Someone asked to use ${context.recipient} as the address of a ${context.productName} account.`,
        `To confirm it, open this link within ${params.expiresInMinutes} minutes: ${href}`,
        'If it was not you, ignore this mail: nothing changes.',
      ],
      html: html`<p>
          Someone asked to use <strong>${context.recipient}</strong> as the address of a
          ${context.productName} account.
        </p>
        <p>To confirm it, open this link within ${params.expiresInMinutes} minutes:</p>
        ${actionLink('Confirm my new address', href)}
        <p>If it was not you, ignore this mail: nothing changes.</p>`,
    });
  },
};
