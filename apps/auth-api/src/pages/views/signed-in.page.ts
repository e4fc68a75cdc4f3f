import type { Page } from '../html.js';

/** Signed in, with no authorization request to go back to. */
export function signedInPage(): Page {
  return {
    title: 'Signed in',
    main: '<p>You are signed in. You can close this page.</p>',
  };
}
