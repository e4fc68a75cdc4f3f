import { escapeHtml, type Page } from '../html.js';
import { PASSKEY_SCRIPT_PATH, passkeyForm } from './passkey-form.js';

export interface SignInSecondStepView {
  readonly problem: string | null;
  readonly mfaToken: string;
  /** The sealed authorization request the sign-in is for, if it is still live. */
  readonly interaction: string | undefined;
  /** The device page's code typed so far ('' for none yet), when the sign-in is for the device page. */
  readonly deviceCode: string | undefined;
  /** The user has a passkey: offer "Use a passkey" (run by `/assets/passkey.js`). */
  readonly passkey?: boolean;
}

/**
 * The second step, after a correct password: the authenticator app's code, or (behind a disclosure,
 * no script needed) a recovery code. The mfa token travels in the form, never in a URL.
 */
export function signInSecondStepPage({
  problem,
  mfaToken,
  interaction,
  deviceCode,
  passkey = false,
}: SignInSecondStepView): Page {
  return {
    title: 'Enter your code',
    ...(passkey ? { scripts: [PASSKEY_SCRIPT_PATH] } : {}),
    main: `${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/signin/mfa">
<input type="hidden" name="mfa_token" value="${escapeHtml(mfaToken)}">
${interaction !== undefined ? `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}">` : ''}
${deviceCode !== undefined ? `<input type="hidden" name="device" value="${escapeHtml(deviceCode)}">` : ''}
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" maxlength="8" autofocus>
<details>
<summary>Use a recovery code instead</summary>
<label for="recovery_code">Recovery code</label>
<input id="recovery_code" name="recovery_code" type="text" autocomplete="off" maxlength="64">
</details>
<button type="submit">Continue</button>
</form>
${passkey ? passkeyForm({ kind: 'second-step', action: '/signin/mfa', label: 'Use a passkey', interaction, deviceCode, mfaToken }) : ''}`,
  };
}
