import { escapeHtml, type Page } from '../html.js';

export interface EmailLinkDoneView {
  readonly title: string;
  readonly message: string;
}

/** What a mailed link's button did, and the way on to sign in. */
export function emailLinkDonePage({ title, message }: EmailLinkDoneView): Page {
  return {
    title,
    main: `<p role="status">${escapeHtml(message)}</p>
<p><a href="/signin">Sign in</a></p>`,
  };
}
