import { escapeHtml, type Page } from '../html.js';

export interface SignOutView {
  /** The client asking, when the request names one. */
  readonly clientName: string | null;
  /** Whether confirming ends the browser's sign-in at Gatehouse. */
  readonly endsBrowserSignIn: boolean;
  /** Whether confirming ends the application's session (an ID token hint names it). */
  readonly endsApplicationSession: boolean;
  /** The sealed logout request the form confirms. */
  readonly logout: string;
}

/** What confirming will end, in words. */
function ending(browser: boolean, application: boolean): string {
  if (browser && application) {
    return 'This ends your sign-in on this browser and the application’s session.';
  }
  return browser
    ? 'This ends your sign-in on this browser.'
    : 'This ends the application’s session.';
}

/** The end-session confirmation: nothing ends until the user confirms here. */
export function signOutPage({
  clientName,
  endsBrowserSignIn,
  endsApplicationSession,
  logout,
}: SignOutView): Page {
  const asker =
    clientName !== null
      ? `<p><strong>${escapeHtml(clientName)}</strong> asks to sign you out.</p>`
      : '';
  return {
    title: 'Sign out?',
    main: `${asker}
<p>${ending(endsBrowserSignIn, endsApplicationSession)}</p>
<form method="post" action="/oauth/end_session/confirm">
<input type="hidden" name="logout" value="${escapeHtml(logout)}">
<button type="submit">Sign out</button>
</form>
<p>If you did not ask to sign out, close this page.</p>`,
  };
}
