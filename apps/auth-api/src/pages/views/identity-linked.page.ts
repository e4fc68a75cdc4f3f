import type { Page } from '../html.js';

/** A signed-in user linked an upstream account (no return path was given). */
export function identityLinkedPage(): Page {
  return {
    title: 'Account linked',
    main: '<p>You can now sign in with this provider too. You can close this page.</p>',
  };
}
