import { escapeHtml, type Page } from '../html.js';
import { fieldError } from './field-error.js';

export interface ResetPasswordView {
  /** The reset link's token, carried by the form. */
  readonly token: string;
  /** The account's address (shown, and given to password managers). */
  readonly email: string;
  readonly problem: string | null;
}

/** The new-password form; its URL holds the token, so it is served with `strict-origin`. */
export function resetPasswordPage({ token, email, problem }: ResetPasswordView): Page {
  const { alert, attributes } = fieldError('password-error', problem, 'password-hint');
  return {
    title: 'Choose a new password',
    referrerPolicy: 'strict-origin',
    main: `<p>For <strong>${escapeHtml(email)}</strong>. Every session of the account will be signed out.</p>
${alert}
<form method="post" action="/reset-password">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<input type="email" name="username" value="${escapeHtml(email)}" autocomplete="username" hidden>
<label for="newPassword">New password</label>
<p id="password-hint">At least 8 characters; a long phrase is best.</p>
<input id="newPassword" name="newPassword" type="password" autocomplete="new-password" required autofocus${attributes}>
<button type="submit">Set the new password</button>
</form>`,
  };
}
