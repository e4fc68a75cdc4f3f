import type { Page } from '../html.js';
import { fieldError } from './field-error.js';

export interface ForgotPasswordView {
  readonly problem: string | null;
}

export function forgotPasswordPage({ problem }: ForgotPasswordView): Page {
  const { alert, attributes } = fieldError('email-error', problem);
  return {
    title: 'Forgot your password?',
    main: `<p>Enter the email address of your account, and we will mail it a link to choose a new password.</p>
${alert}
<form method="post" action="/forgot-password">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus${attributes}>
<button type="submit">Send the link</button>
</form>
<p><a href="/signin">Back to sign in</a></p>`,
  };
}
