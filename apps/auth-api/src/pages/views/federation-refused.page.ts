import { escapeHtml, type Page } from '../html.js';

/**
 * A federated sign-in that did not succeed: one message whatever the reason (it is in the audit
 * log), never an upstream's words, never a hint whether an account exists.
 */
export function federationRefusedPage({ unavailable }: { unavailable: boolean }): Page {
  const message = unavailable
    ? 'The identity provider is not available right now. Try again later.'
    : 'The sign-in with this provider did not succeed. Try again or sign in another way.';
  return {
    title: 'Sign-in not completed',
    main: `<p class="error" role="alert">${escapeHtml(message)}</p>
<p><a href="/signin">Back to sign-in</a></p>`,
  };
}
