import type { Page } from '../html.js';

/** After a confirmed sign-out with no redirect to a client. */
export function signedOutPage(): Page {
  return {
    title: 'Signed out',
    main: '<p role="status">You are signed out. You can close this page.</p>',
  };
}
