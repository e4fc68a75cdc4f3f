import { escapeHtml, type Page } from '../html.js';
import { PASSKEY_SCRIPT_PATH, passkeyForm } from './passkey-form.js';

export interface SignInSecondStepView {
  readonly problem: string | null;
  readonly mfaToken: string;
  /** The sealed authorization request the sign-in is for, if it is still live. */
  readonly interaction: string | undefined;
  /** The device page's code typed so far ('' for none yet), when the sign-in is for the device page. */
  readonly deviceCode: string | undefined;
  /** The user has an authenticator app: ask for its code (else a recovery code is the typed way). */
  readonly totp?: boolean;
  /** The user has a passkey: offer "Use a passkey" (run by `/assets/passkey.js`). */
  readonly passkey?: boolean;
}

const RECOVERY_CODE_FIELD = `<label for="recovery_code">Recovery code</label>
<input id="recovery_code" name="recovery_code" type="text" autocomplete="off" maxlength="64">`;

/**
 * The second step, after a correct password: the authenticator app's code, or (behind a disclosure,
 * no script needed) a recovery code; a user without an app (passkeys only) is offered the passkey
 * first and a recovery code as the typed fallback. The mfa token travels in the form, never in a URL.
 */
export function signInSecondStepPage({
  problem,
  mfaToken,
  interaction,
  deviceCode,
  totp = true,
  passkey = false,
}: SignInSecondStepView): Page {
  const typed = totp
    ? `<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" maxlength="8" autofocus>
<details>
<summary>Use a recovery code instead</summary>
${RECOVERY_CODE_FIELD}
</details>`
    : `<details>
<summary>Lost your passkey? Use a recovery code</summary>
${RECOVERY_CODE_FIELD}
</details>`;
  const form = `<form method="post" action="/signin/mfa">
<input type="hidden" name="mfa_token" value="${escapeHtml(mfaToken)}">
${interaction !== undefined ? `<input type="hidden" name="interaction" value="${escapeHtml(interaction)}">` : ''}
${deviceCode !== undefined ? `<input type="hidden" name="device" value="${escapeHtml(deviceCode)}">` : ''}
${typed}
<button type="submit">Continue</button>
</form>`;
  const passkeyButton = passkey
    ? passkeyForm({
        kind: 'second-step',
        action: '/signin/mfa',
        label: 'Use a passkey',
        interaction,
        deviceCode,
        mfaToken,
      })
    : '';
  return {
    title: totp ? 'Enter your code' : 'Confirm it is you',
    ...(passkey ? { scripts: [PASSKEY_SCRIPT_PATH] } : {}),
    main: `${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
${totp ? `${form}\n${passkeyButton}` : `${passkeyButton}\n${form}`}`,
  };
}
