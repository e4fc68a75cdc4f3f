import type { Page } from '../html.js';

export function passwordChangedPage(): Page {
  return {
    title: 'Password changed',
    referrerPolicy: 'strict-origin',
    main: `<p role="status">Your password was changed, and every session of your account was signed out.</p>
<p><a href="/signin">Sign in with your new password</a></p>`,
  };
}
