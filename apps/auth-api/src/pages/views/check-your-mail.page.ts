import type { Page } from '../html.js';

export interface CheckYourMailView {
  /** How long the reset link works. */
  readonly linkMinutes: number;
}

/** Every address gets this same page: it tells no one whether an account has the address. */
export function checkYourMailPage({ linkMinutes }: CheckYourMailView): Page {
  return {
    title: 'Check your mail',
    main: `<p role="status">If an account has this address, we have sent it a link to choose a new password. The link works for ${linkMinutes} minutes, once.</p>
<p>No mail? Check your spam folder, or <a href="/forgot-password">ask again</a>.</p>
<p><a href="/signin">Back to sign in</a></p>`,
  };
}
