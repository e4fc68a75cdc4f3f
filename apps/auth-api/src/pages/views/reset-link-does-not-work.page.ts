import type { Page } from '../html.js';

/** A reset link that is invalid, used, superseded or expired: the way to a new one. */
export function resetLinkDoesNotWorkPage(): Page {
  return {
    title: 'This link does not work',
    referrerPolicy: 'strict-origin',
    main: `<p class="error" role="alert">This link is invalid or has expired: it works once, for a limited time, and only the newest one works.</p>
<p><a href="/forgot-password">Ask for a new link</a></p>`,
  };
}
