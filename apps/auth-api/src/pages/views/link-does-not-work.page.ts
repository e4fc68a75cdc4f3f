import { escapeHtml, type Page } from '../html.js';

export interface LinkDoesNotWorkView {
  readonly message: string;
}

/** A mailed link that cannot be used; its URL may hold a token, hence `strict-origin`. */
export function linkDoesNotWorkPage({ message }: LinkDoesNotWorkView): Page {
  return {
    title: 'This link does not work',
    main: `<p class="error" role="alert">${escapeHtml(message)}</p>`,
    referrerPolicy: 'strict-origin',
  };
}
