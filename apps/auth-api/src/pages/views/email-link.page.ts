import { escapeHtml, type Page } from '../html.js';

export interface EmailLinkView {
  readonly title: string;
  /** What the click confirms, in words. */
  readonly question: string;
  /** Where the form posts: one of our own paths. */
  readonly action: string;
  readonly button: string;
  /** The mailed link's token, carried by the form. */
  readonly token: string;
}

/**
 * The page a mailed link opens: opening it changes nothing (mail scanners prefetch links), only its
 * button does. Its URL holds the token, so it is served with `strict-origin`.
 */
export function emailLinkPage({ title, question, action, button, token }: EmailLinkView): Page {
  return {
    title,
    main: `<p>${escapeHtml(question)}</p>
<form method="post" action="${action}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">${escapeHtml(button)}</button>
</form>`,
    referrerPolicy: 'strict-origin',
  };
}
