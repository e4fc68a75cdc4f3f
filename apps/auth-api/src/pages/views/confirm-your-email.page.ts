import { escapeHtml, type Page } from '../html.js';

export interface ConfirmYourEmailView {
  /** Why the sign-in stopped (the error's public message). */
  readonly message: string;
  /** The sealed ticket that lets the form ask for the link again. */
  readonly ticket: string;
}

/** REQUIRE_VERIFIED_EMAIL, after the right password: offer to mail the link again. */
export function confirmYourEmailPage({ message, ticket }: ConfirmYourEmailView): Page {
  return {
    title: 'Confirm your email address',
    main: `<p class="error" role="alert">${escapeHtml(message)}</p>
<form method="post" action="/verify-email/resend">
<input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
<button type="submit">Send the link again</button>
</form>`,
  };
}
