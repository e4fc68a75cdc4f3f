import { html, link } from '../mail-markup.js';
import { actionLink, inLayout } from './layout.js';
import type { MailTemplate } from './mail-template.js';
import type { TokenMailParams, TokenMailSecret } from './password-reset.template.js';

/** The link to `{ISSUER}/verify-email?token=…`, proving the address belongs to the account. */
export const emailVerification: MailTemplate<TokenMailParams, TokenMailSecret> = {
  render(context, params, secret) {
    const href = link(context.issuer, '/verify-email', { token: secret.token });
    return inLayout(context, {
      subject: `Confirm your email address for ${context.productName}`,
      text: [
        `Confirm that ${context.recipient} is your address for ${context.productName}.`,
        `Open this link within ${params.expiresInMinutes} minutes: ${href}`,
        'If you did not sign up, ignore this mail.',
      ],
      html: html`<p>
          Confirm that <strong>${context.recipient}</strong> is your address for
          ${context.productName}.
        </p>
        <p>Open this link within ${params.expiresInMinutes} minutes:</p>
        ${actionLink('Confirm my address', href)}
        <p>If you did not sign up, ignore this mail.</p>`,
    });
  },
};
