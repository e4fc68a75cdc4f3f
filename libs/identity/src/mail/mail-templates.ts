import { emailChangeConfirmation } from './templates/email-change-confirmation.template.js';
import {
  emailChangeRequested,
  type EmailChangeRequestedParams,
} from './templates/email-change-requested.template.js';
import { emailVerification } from './templates/email-verification.template.js';
import type { MailContext, MailTemplate, RenderedMail } from './templates/mail-template.js';
import { mfaReset, type MfaResetParams } from './templates/mfa-reset.template.js';
import {
  passwordChanged,
  type PasswordChangedParams,
} from './templates/password-changed.template.js';
import {
  recoveryCodeUsed,
  type RecoveryCodeUsedParams,
} from './templates/recovery-code-used.template.js';
import {
  passwordReset,
  type TokenMailParams,
  type TokenMailSecret,
} from './templates/password-reset.template.js';

/** Every mail kind: its parameters (stored in clear) and its secret (stored sealed, or none). */
export interface MailKinds {
  'password-changed': { params: PasswordChangedParams; secret: null };
  'password-reset': { params: TokenMailParams; secret: TokenMailSecret };
  'email-verification': { params: TokenMailParams; secret: TokenMailSecret };
  'email-change-confirmation': { params: TokenMailParams; secret: TokenMailSecret };
  'email-change-requested': { params: EmailChangeRequestedParams; secret: TokenMailSecret };
  'recovery-code-used': { params: RecoveryCodeUsedParams; secret: null };
  'mfa-reset': { params: MfaResetParams; secret: null };
}

export type MailTemplateName = keyof MailKinds;

/** A mail to send: its template, its recipient, its parameters and, for links, its secret. */
export type MailRequest = {
  [Name in MailTemplateName]: {
    readonly template: Name;
    readonly to: string;
    readonly params: MailKinds[Name]['params'];
  } & (MailKinds[Name]['secret'] extends null
    ? { readonly secret?: undefined }
    : { readonly secret: MailKinds[Name]['secret'] });
}[MailTemplateName];

const TEMPLATES: {
  readonly [Name in MailTemplateName]: MailTemplate<
    MailKinds[Name]['params'],
    MailKinds[Name]['secret']
  >;
} = {
  'password-changed': passwordChanged,
  'password-reset': passwordReset,
  'email-verification': emailVerification,
  'email-change-confirmation': emailChangeConfirmation,
  'email-change-requested': emailChangeRequested,
  'recovery-code-used': recoveryCodeUsed,
  'mfa-reset': mfaReset,
};

export function isMailTemplateName(name: string): name is MailTemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

/** Renders a stored mail: its params and secret as they were enqueued for this template. */
export function renderMail(
  template: MailTemplateName,
  context: MailContext,
  params: unknown,
  secret: unknown,
): RenderedMail {
  const chosen = TEMPLATES[template] as MailTemplate<unknown, unknown>;
  return chosen.render(context, params, secret ?? null);
}
