import type { Page } from '../html.js';

/** A sign-out with nothing to end and no client to go back to. */
export function notSignedInPage(): Page {
  return {
    title: 'Signed out',
    main: '<p role="status">You are not signed in.</p>',
  };
}
