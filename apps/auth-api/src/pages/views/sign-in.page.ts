import { escapeHtml, type Page } from '../html.js';
import { type FederatedProviderLink, federatedSignInLinks } from './federated-sign-in.js';
import { PASSKEY_SCRIPT_PATH, passkeyForm } from './passkey-form.js';

export interface SignInView {
  readonly problem: string | null;
  /** The sealed authorization request the sign-in is for, if it is still live. */
  readonly interaction: string | undefined;
  /** The device page's code typed so far ('' for none yet), when the sign-in is for the device page. */
  readonly deviceCode: string | undefined;
  /** "Continue with …" links, one per enabled upstream identity provider. */
  readonly federatedProviders?: readonly FederatedProviderLink[];
}

/**
 * The sign-in form; the hidden fields say where it goes on: an authorization request or the device
 * page. Below it, "Sign in with a passkey" (shown by `/assets/passkey.js` where WebAuthn works)
 * posts the passkey's assertion with the same hidden fields to `/signin/passkey`.
 */
export function signInPage({
  problem,
  interaction,
  deviceCode,
  federatedProviders = [],
}: SignInView): Page {
  return {
    title: 'Sign in',
    scripts: [PASSKEY_SCRIPT_PATH],
    main: `${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/signin">
${interaction !== undefined ? `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}">` : ''}
${deviceCode !== undefined ? `<input type="hidden" name="device" value="${escapeHtml(deviceCode)}">` : ''}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${passkeyForm({ kind: 'sign-in', action: '/signin/passkey', label: 'Sign in with a passkey', interaction, deviceCode })}
${federatedSignInLinks(federatedProviders, interaction, deviceCode)}
<p><a href="/forgot-password">Forgot password?</a></p>`,
  };
}
